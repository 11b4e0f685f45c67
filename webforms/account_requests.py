"""`/console/account-requests`: a focal point asks for more accounts of its municipality, the
admin approves or refuses them (core/account_requests.py).

A focal point sees its municipality's requests and their state, and a form for a new one; the
admin sees what waits, and decides. An approved request's account gets its set-password link
by SMS to the phone given in the request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from core.account_requests import (
    MAX_REASON,
    REQUESTABLE,
    RequestInvalid,
    RequestState,
    approve,
    refuse,
    request_account,
    request_for,
    requests_visible_to,
)
from core.notifications import dispatch
from core.password_resets import SmsRefused
from core.phones import masked
from core.roles import Permission, can
from web import store
from web.auth import staff_required
from webforms.console import ROLE_LABELS
from webforms.staff_accounts import link_sender

bp = Blueprint("account_requests", __name__, template_folder="templates")
MAX_FIELD = 60

PROBLEMS = {
    ("username", "invalid"): _l(
        "The username must be 3 to 40 characters: lowercase letters, digits, '.', '_' or '-'."
    ),
    ("username", "taken"): _l("This username is taken, or already requested."),
    ("role", "invalid"): _l("Choose a mukhtar, a volunteer or a focal point."),
    ("phone", "invalid"): _l(
        "This is not a phone number. Type a Lebanese mobile, e.g. 03 123 456."
    ),
    ("phone", "foreign"): _l("This number is not Lebanese. Type a Lebanese mobile number."),
    ("phone", "not_mobile"): _l("This is a landline. Type a Lebanese mobile number."),
    ("reason", "empty"): _l("Say why the account is needed."),
    ("reason", "too_long"): _l("The reason is too long (at most 500 characters)."),
}
STATES = {
    RequestState.PENDING: _l("Waiting for the administrator"),
    RequestState.APPROVED: _l("Approved: the account exists"),
    RequestState.REFUSED: _l("Refused"),
}
DONE = {
    "made": _l("Your request is sent to the administrator."),
    "approved": _l("The account is created; its set-password link was sent by SMS."),
    "refused": _l("The request is refused."),
}
DECIDED = _l("This request was decided already.")
STOPPED = _l("The phone in this request sent STOP to 1766: no SMS can reach it. Refuse it.")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "role_labels": ROLE_LABELS,
        "states": STATES,
        "masked": masked,
        "requestable": REQUESTABLE,
        "max_reason": MAX_REASON,
    }


def _is_admin() -> bool:
    return can(g.user.role, Permission.MANAGE_USERS)


def _allowed() -> None:
    if not (_is_admin() or can(g.user.role, Permission.REQUEST_ACCOUNTS)):
        abort(403)


@bp.get("/console/account-requests")
@staff_required()
def index(
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None, problem: object = None
) -> ResponseReturnValue:
    """The focal point's requests and form; the admin's waiting requests."""
    _allowed()
    session = store.db()
    admin = _is_admin()
    page = render_template(
        "users/requests.html",
        admin=admin,
        pending=requests_visible_to(session, g.user, RequestState.PENDING) if admin else [],
        requests=requests_visible_to(session, g.user),
        form=form or {},
        errors=errors or {},
        problem=problem,
        done=DONE.get(request.args.get("done", "")),
    )
    return page, 400 if (errors or problem) else 200


@bp.post("/console/account-requests")
@staff_required(Permission.REQUEST_ACCOUNTS)
def make() -> ResponseReturnValue:
    """A focal point's request, for its own municipality."""
    fields = ("username", "role", "phone")
    form = {k: request.form.get(k, "")[:MAX_FIELD] for k in fields}
    form["reason"] = request.form.get("reason", "")[: MAX_REASON * 2]
    try:
        request_account(store.db(), g.user, **form)
    except RequestInvalid as invalid:
        store.db().rollback()
        errors = {f: str(PROBLEMS.get((f, why), why)) for f, why in invalid.problems.items()}
        return index(form, errors)
    store.commit()
    return redirect(url_for("account_requests.index", done="made"))


def _request(request_id: int) -> Any:
    found = request_for(store.db(), g.user, request_id)
    if found is None:
        abort(404)
    return found


@bp.post("/console/account-requests/<int:request_id>/approve")
@staff_required(Permission.MANAGE_USERS)
def approve_view(request_id: int) -> ResponseReturnValue:
    session = store.db()
    try:
        delivery = approve(session, _request(request_id), g.user, link_sender())
    except RequestInvalid as invalid:
        session.rollback()
        taken = invalid.problems.get("username") == "taken"
        return index(problem=PROBLEMS[("username", "taken")] if taken else DECIDED)
    except SmsRefused:
        session.rollback()
        return index(problem=STOPPED)
    store.commit()
    dispatch(current_app.extensions["intake.jobs"], delivery.to_dispatch, new=True)
    return redirect(url_for("account_requests.index", done="approved"))


@bp.post("/console/account-requests/<int:request_id>/refuse")
@staff_required(Permission.MANAGE_USERS)
def refuse_view(request_id: int) -> ResponseReturnValue:
    session = store.db()
    reason = request.form.get("reason", "")[: MAX_REASON * 2]
    try:
        refuse(session, _request(request_id), g.user, reason)
    except RequestInvalid as invalid:
        session.rollback()
        why = invalid.problems.get("reason")
        return index(problem=PROBLEMS[("reason", why)] if why else DECIDED)
    store.commit()
    return redirect(url_for("account_requests.index", done="refused"))
