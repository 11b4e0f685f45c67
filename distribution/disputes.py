"""The technical committee decides a distribution dispute: the voucher stands, or is revoked.

An officer who cannot settle a case at the distribution point sends it to the committee
(`record_dispute`: a distribution ticket, and the voucher is held while it is open). A committee
member decides it once, with the reason: *confirm* lets the handover proceed; *revoke* revokes
the voucher (`distribution/revocations.py`), so every distribution point and every offline
checker refuses it. Either way the ticket is closed with the reason, which the family is told.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission, can
from core.scopes import OutsideArea, covers
from core.tickets import Ticket, TicketStatus, decide
from core.users import StaffUser
from distribution.handovers import MAX_REASON, Handover, HandoverOutcome, Voucher, clean_reason
from distribution.revocation_list import RevocationReason
from distribution.revocations import revoke_voucher


class Ruling(StrEnum):
    """What the committee decided of a disputed voucher."""

    CONFIRM = "confirm"  # the voucher stands: the handover may proceed
    REVOKE = "revoke"  # the voucher is revoked: no aid on it, anywhere


class NotCommittee(PermissionError):
    """Only the technical committee decides a distribution dispute."""


class NotADispute(LookupError):
    """The ticket is not an officer's dispute on a voucher."""


class DisputeDecided(Exception):
    """The dispute has been decided already; a decision is not taken twice."""


class DisputeDecision(Base):
    """The committee's decision on one dispute (one per ticket)."""

    __tablename__ = "dispute_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    decision: Mapped[str] = mapped_column(String(8))  # a Ruling
    reason: Mapped[str] = mapped_column(String(MAX_REASON))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def disputed_voucher(session: Session, ticket: Ticket) -> Voucher | None:
    """The voucher an officer's dispute is about, if the ticket is one."""
    stmt = (
        select(Voucher)
        .join(Handover, Handover.voucher_id == Voucher.id)
        .where(Handover.ticket_id == ticket.id, Handover.outcome == HandoverOutcome.DISPUTED)
    )
    return session.scalars(stmt.limit(1)).first()


def decision_on(session: Session, ticket: Ticket) -> DisputeDecision | None:
    """The committee's decision on this dispute, if taken."""
    return session.scalar(select(DisputeDecision).where(DisputeDecision.ticket_id == ticket.id))


def decide_dispute(
    session: Session,
    ticket: Ticket,
    decision: Ruling,
    reason: str,
    actor: StaffUser,
) -> DisputeDecision:
    """Confirm or revoke the disputed voucher, once, with the reason; the ticket is closed.

    Raises `NotCommittee`, `OutsideArea`, `NotADispute`, `DisputeDecided`, `BadReason`; the
    caller rolls back on any of them. The adapter tells the family the ticket's decision.
    """
    if not can(actor.role, Permission.DECIDE_DISPUTES):
        raise NotCommittee()
    voucher = disputed_voucher(session, ticket)
    if voucher is None:
        raise NotADispute()
    if not covers(actor, voucher, Permission.DECIDE_DISPUTES):
        raise OutsideArea()
    text = clean_reason(reason)
    _lock(session, ticket)
    if ticket.is_closed or decision_on(session, ticket) is not None:
        raise DisputeDecided()
    decided = DisputeDecision(
        ticket_id=ticket.id,
        voucher_id=voucher.id,
        decision=decision,
        reason=text,
        decided_by_id=actor.id,
        decided_at=utcnow(),
    )
    session.add(decided)
    if decision is Ruling.REVOKE:
        revoke_voucher(
            session,
            voucher,
            RevocationReason.DISPUTE,
            actor.username,
            note=text,
            revoked_by_id=actor.id,
            ticket_id=ticket.id,
        )
    decide(session, ticket, TicketStatus.RESOLVED, text, actor.username)
    details: dict[str, audit.Scalar] = {
        "decision": str(decision),
        "code": voucher.code,
        "ticket": ticket.number,
    }
    audit.record(session, actor.username, "dispute.decided", "ticket", str(ticket.id), details)
    return decided


def _lock(session: Session, ticket: Ticket) -> None:
    """Re-read the ticket under a lock: two members deciding at once, one decides."""
    stmt = (
        select(Ticket)
        .where(Ticket.id == ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session.scalars(stmt).one()
