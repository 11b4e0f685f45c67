"""Who helps the army hand a list over in a municipality, and what the handover form adds.

`/console/lists/<list>/<municipality>/assisting`: an army officer whose area holds the
municipality assigns its mukhtars and volunteers to the list's handover there, or withdraws
them (thin views over `distribution.assists`). The handover form on the voucher page then
offers the assigned accounts as "assisted by", and a refusal asks for the signed declaration
and its paper's number (`distribution.declarations`); the helpers below read those fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from core.roles import Permission
from core.scopes import OutsideArea
from core.users import StaffUser
from distribution import queries as distribution
from distribution.approvals import REQUIRED_APPROVALS, approval_count
from distribution.assists import (
    NotAHelper,
    NotAssigned,
    assign,
    assigned,
    assistant_for,
    assistants_of,
    helpers_of,
    note_assistant,
    unassign,
)
from distribution.declarations import SignedDeclaration, declarations_of
from distribution.handovers import Handover, Voucher
from distribution.queries import Recorded
from scoring.lists import BeneficiaryList
from texts import handover_circular as text
from web import store
from web.auth import staff_required
from webforms.console import ROLE_LABELS

bp = Blueprint("handover_team", __name__, template_folder="templates")

ASSISTING = "/console/lists/<int(max=2147483647):list_id>/<string(length=5):locality>/assisting"
NOTICES = {"assigned": text.ASSIGNED, "unassigned": text.UNASSIGNED, "same": text.NOTHING_CHANGED}


def _place(session: Session, list_id: int, locality: str) -> distribution.Municipality:
    """The list's municipality in the officer's area, or 404 (outside, or no such list)."""
    if session.get(BeneficiaryList, list_id) is None:
        abort(404)
    place = distribution.municipality(session, g.user, list_id, locality)
    return place if place is not None else abort(404)


@bp.get(ASSISTING)
@staff_required(Permission.RECORD_HANDOVERS)
def assisting(list_id: int, locality: str) -> ResponseReturnValue:
    page, _status = _page(list_id, locality)
    return page


def _page(list_id: int, locality: str, error: object = None, status: int = 200) -> tuple[str, int]:
    session = store.db()
    place = _place(session, list_id, locality)
    team = assigned(session, list_id, locality)
    taken = {account.id for account in team}
    page = render_template(
        "handover/assisting.html",
        list_id=list_id,
        place=place,
        arabic=str(get_locale()) == "ar",
        team=team,
        roles=ROLE_LABELS,
        free=[helper for helper in helpers_of(session, locality) if helper.id not in taken],
        error=str(error) if error else None,
        notice=NOTICES.get(request.args.get("done", "")) if not error else None,
    )
    return page, status


@bp.post(ASSISTING)
@staff_required(Permission.RECORD_HANDOVERS)
def change_assisting(list_id: int, locality: str) -> ResponseReturnValue:
    """Assign (`action=assign`) or withdraw (`action=unassign`) one account."""
    session = store.db()
    _place(session, list_id, locality)
    account = _account_id(request.form.get("account", ""))
    action = request.form.get("action", "")
    try:
        if action == "unassign":
            changed = unassign(session, g.user, list_id, locality, account)
        else:
            changed = assign(session, g.user, list_id, locality, account)
    except NotAHelper:
        session.rollback()
        return _page(list_id, locality, text.NOT_A_HELPER, 400)
    except OutsideArea:
        abort(404)
    store.commit()
    done = ("unassigned" if action == "unassign" else "assigned") if changed else "same"
    return redirect(
        url_for("handover_team.assisting", list_id=list_id, locality=locality, done=done), 303
    )


def _account_id(typed: str) -> int:
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else 0


# --- the handover form's additions -----------------------------------------------------------


def chosen_assistant(session: Session, voucher: Voucher, typed: str) -> StaffUser | None:
    """The assigned account chosen as "assisted by", or None; raises `NotAssigned`."""
    if not typed.strip():
        return None
    account = _account_id(typed.strip())
    if not account:
        raise NotAssigned()
    return assistant_for(session, voucher, account)


def note(session: Session, handover: Handover, assistant: StaffUser | None) -> None:
    """Record who assisted, if someone did."""
    if assistant is not None:
        note_assistant(session, handover, assistant, g.user)


def declared(form: MultiDict[str, str]) -> SignedDeclaration:
    """What the refusal's form says of the written declaration."""
    number = form.get("declaration_number", "")[:200]
    return SignedDeclaration(form.get("declaration_signed") == "yes", number)


@dataclass
class Additions:
    """What the voucher page shows of the circular's additions."""

    helpers: list[StaffUser] = field(default_factory=list)  # assigned here: "assisted by"
    assisted: dict[int, str] = field(default_factory=dict)  # record id: who assisted
    papers: dict[int, str] = field(default_factory=dict)  # record id: declaration's number
    pending: str = ""  # the words of the committee's missing approvals, while they are


def additions(voucher: object, history: list[Recorded]) -> Additions:
    """The assistants to choose from and the history's additions, for a voucher shown."""
    if not isinstance(voucher, Voucher):
        return Additions()
    session, ids = store.db(), [line.handover_id for line in history]
    return Additions(
        helpers=assigned(session, voucher.list_id, voucher.locality_code or ""),
        assisted=assistants_of(session, ids),
        papers=declarations_of(session, ids),
        pending=_pending(session, voucher.list_id),
    )


def _pending(session: Session, list_id: int) -> str:
    count = approval_count(session, list_id)
    return "" if count >= REQUIRED_APPROVALS else text.approval_pending(count)
