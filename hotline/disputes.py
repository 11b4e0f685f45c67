"""Distribution disputes on the ticket page: the committee confirms or revokes the voucher.

`POST /hotline/tickets/<id>/dispute` (committee only) calls `distribution.disputes` and tells
the family the decision by SMS, as any decided ticket; agents see the dispute but no longer
decide it (`hotline/console.py` refuses their decision form on a dispute).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from core.notifications import Sms
from core.roles import Permission, can
from core.sayings import TicketDecision
from core.scopes import OutsideArea
from core.sms_policy import Occasion
from core.tickets import Ticket, TicketStatus
from distribution.disputes import (
    DisputeDecided,
    DisputeDecision,
    NotADispute,
    NotCommittee,
    Ruling,
    decide_dispute,
    decision_on,
    disputed_voucher,
)
from distribution.handovers import BadReason, Voucher
from distribution.revocation_list import VoucherRevoked
from hotline.room import bp, form_text, owe_and_send, ticket_or_404
from texts.sms import compose
from web import store
from web.auth import staff_required


@dataclass(frozen=True)
class DisputeShown:
    """What the ticket page shows of a dispute, and whether this viewer may decide it."""

    voucher: Voucher
    decision: DisputeDecision | None
    can_decide: bool


@bp.app_template_global("ticket_dispute")
def ticket_dispute(ticket: Ticket) -> DisputeShown | None:
    """The dispute behind a distribution ticket, if it is one."""
    session = store.db()
    voucher = disputed_voucher(session, ticket)
    if voucher is None:
        return None
    decision = decision_on(session, ticket)
    may = can(g.user.role, Permission.DECIDE_DISPUTES) and decision is None
    return DisputeShown(voucher, decision, may and not ticket.is_closed)


def is_dispute(ticket: Ticket) -> bool:
    """Whether the ticket is an officer's dispute on a voucher (the committee decides it)."""
    return disputed_voucher(store.db(), ticket) is not None


_REFUSALS: dict[type[Exception], str] = {
    DisputeDecided: "dispute_decided",
    VoucherRevoked: "dispute_revoked",  # a correction revoked it meanwhile
    NotCommittee: "dispute_committee",
    OutsideArea: "dispute_committee",
}


@bp.post("/tickets/<int:ticket_id>/dispute")
@staff_required(Permission.DECIDE_DISPUTES)
def dispute_decision(ticket_id: int) -> ResponseReturnValue:
    """Confirm or revoke the disputed voucher, with the reason the family is told by SMS."""
    session = store.db()
    found = ticket_or_404(ticket_id)
    try:
        ruling = Ruling(request.form.get("decision", ""))
        decide_dispute(session, found, ruling, form_text("reason", 2000), g.user)
    except NotADispute:
        abort(404)
    except ValueError as refused:  # an unknown ruling, or a reason that will not do
        session.rollback()
        error = f"reason_{refused.problem}" if isinstance(refused, BadReason) else "ruling"
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, error=f"dispute_{error}"))
    except tuple(_REFUSALS) as refused:
        session.rollback()
        return redirect(
            url_for("hotline.ticket", ticket_id=ticket_id, error=_REFUSALS[type(refused)])
        )
    decision = TicketDecision(found.number, TicketStatus(found.status), found.resolution or "")
    sms = Sms(found.phone, compose(decision, found.language), found.language, "ticket_decision")
    sent = owe_and_send(sms, Occasion.DECISION)  # commits
    return redirect(url_for("hotline.ticket", ticket_id=ticket_id, decided="1", sms=sent))
