"""Mukhtars and volunteers who help the army hand a list over in their municipality.

The circular asks the municipality's mukhtars and civil-society volunteers to help distribute.
An army officer whose area holds the municipality assigns them, per list and municipality,
from the active mukhtar and volunteer accounts of that municipality (and unassigns them);
a handover, refusal or dispute then records who assisted, only from those assigned. Every
assignment and every assisted record is an audit event (account ids, never names).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission, Role, can
from core.scopes import OutsideArea
from core.users import StaffUser
from distribution.handovers import Handover, Voucher
from distribution.queries import municipality

HELPERS = (Role.MUKHTAR.value, Role.VOLUNTEER.value)


class AssistAssignment(Base):
    """One mukhtar's or volunteer's assignment to a list's handover in their municipality."""

    __tablename__ = "assist_assignments"
    __table_args__ = (UniqueConstraint("list_id", "locality_code", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("beneficiary_lists.id"), index=True)
    locality_code: Mapped[str] = mapped_column(String(8))
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HandoverAssist(Base):
    """Who assisted the officer with one record at the distribution point."""

    __tablename__ = "handover_assists"

    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))


class NotAHelper(ValueError):
    """The account is not an active mukhtar or volunteer of this municipality."""


class NotAssigned(ValueError):
    """The account chosen as assistant is not assigned to this list in this municipality."""


def helpers_of(session: Session, locality_code: str) -> list[StaffUser]:
    """The municipality's active mukhtar and volunteer accounts, by username."""
    stmt = select(StaffUser).where(
        StaffUser.role_value.in_(HELPERS),
        StaffUser.area_code == locality_code,
        StaffUser.is_active.is_(True),
    )
    return list(session.scalars(stmt.order_by(StaffUser.username)))


def assigned(session: Session, list_id: int, locality_code: str) -> list[StaffUser]:
    """The accounts assigned to assist with this list in this municipality, by username."""
    stmt = (
        select(StaffUser)
        .join(AssistAssignment, AssistAssignment.account_id == StaffUser.id)
        .where(AssistAssignment.list_id == list_id, AssistAssignment.locality_code == locality_code)
    )
    return list(session.scalars(stmt.order_by(StaffUser.username)))


def _check_officer(session: Session, officer: StaffUser, list_id: int, locality: str) -> None:
    """The officer records handovers, and the municipality is one of the list's in their area."""
    if not can(officer.role, Permission.RECORD_HANDOVERS):
        raise OutsideArea()
    if municipality(session, officer, list_id, locality) is None:
        raise OutsideArea()


def assign(
    session: Session, officer: StaffUser, list_id: int, locality_code: str, account_id: int
) -> bool:
    """Assign a helper of the municipality; False if already assigned (nothing written)."""
    _check_officer(session, officer, list_id, locality_code)
    if account_id not in {helper.id for helper in helpers_of(session, locality_code)}:
        raise NotAHelper()
    if account_id in {account.id for account in assigned(session, list_id, locality_code)}:
        return False
    session.add(
        AssistAssignment(
            list_id=list_id,
            locality_code=locality_code,
            account_id=account_id,
            assigned_by_id=officer.id,
            assigned_at=utcnow(),
        )
    )
    session.flush()
    _audit(session, officer, "handover.assist_assigned", list_id, locality_code, account_id)
    return True


def unassign(
    session: Session, officer: StaffUser, list_id: int, locality_code: str, account_id: int
) -> bool:
    """Withdraw an assignment; False if there was none. Records already made keep their name."""
    _check_officer(session, officer, list_id, locality_code)
    removed = session.execute(
        delete(AssistAssignment).where(
            AssistAssignment.list_id == list_id,
            AssistAssignment.locality_code == locality_code,
            AssistAssignment.account_id == account_id,
        )
    )
    if not getattr(removed, "rowcount", 0):
        return False
    _audit(session, officer, "handover.assist_unassigned", list_id, locality_code, account_id)
    return True


def _audit(
    session: Session, officer: StaffUser, action: str, list_id: int, locality: str, account: int
) -> None:
    details: dict[str, audit.Scalar] = {"locality": locality, "account": account}
    audit.record(session, officer.username, action, "list", str(list_id), details)


def assistant_for(session: Session, voucher: Voucher, account_id: int) -> StaffUser:
    """The assigned account chosen as the assistant on this voucher; raises `NotAssigned`."""
    for account in assigned(session, voucher.list_id, voucher.locality_code or ""):
        if account.id == account_id:
            return account
    raise NotAssigned()


def note_assistant(
    session: Session, handover: Handover, assistant: StaffUser, officer: StaffUser
) -> None:
    """Record who assisted with this record (checked by `assistant_for` beforehand)."""
    session.add(HandoverAssist(handover_id=handover.id, account_id=assistant.id))
    session.flush()
    details: dict[str, audit.Scalar] = {"handover": handover.id, "account": assistant.id}
    audit.record(
        session, officer.username, "handover.assisted", "voucher", str(handover.voucher_id), details
    )


def assistants_of(session: Session, handover_ids: list[int]) -> dict[int, str]:
    """The username of whoever assisted with each of these records, where someone did."""
    stmt = (
        select(HandoverAssist.handover_id, StaffUser.username)
        .join(StaffUser, StaffUser.id == HandoverAssist.account_id)
        .where(HandoverAssist.handover_id.in_(handover_ids))
    )
    return dict(session.execute(stmt).all())
