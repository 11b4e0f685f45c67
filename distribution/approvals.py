"""The committee hands the final list to the army (circular §6): four eyes, two members.

A published list is approved by two different members of the technical committee before the
army may export a municipality of it or record anything against its vouchers. Each member
approves once; the approvals are kept (who, when) and each is an audit event. The list's row
is locked while an approval is written, so two members approving at the same instant are
counted one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission, can
from core.users import StaffUser
from scoring.lists import BeneficiaryList

REQUIRED_APPROVALS = 2  # four eyes: two different members of the committee


class ListApproval(Base):
    """One committee member's approval of one published list."""

    __tablename__ = "list_approvals"
    __table_args__ = (UniqueConstraint("list_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("beneficiary_lists.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NotAllowedToApprove(PermissionError):
    """Only a member of the technical committee approves a list."""


class NotPublishedYet(Exception):
    """A list is approved once published: the families have been told."""


class AlreadyApproved(Exception):
    """This member has approved this list already; the second approval is another member's."""


class ApprovalPending(Exception):
    """The list lacks the committee's two approvals: the army cannot use it yet."""

    def __init__(self, approvals: int) -> None:
        super().__init__(f"{approvals} of {REQUIRED_APPROVALS} approvals")
        self.approvals = approvals


@dataclass(frozen=True)
class Approval:
    """One approval as the list's page shows it."""

    member: str  # the member's username
    approved_at: datetime


def approve_list(session: Session, beneficiary_list: BeneficiaryList, member: StaffUser) -> int:
    """Record `member`'s approval of the list; the number of approvals it now has."""
    if not can(member.role, Permission.APPROVE_LISTS):
        raise NotAllowedToApprove()
    if beneficiary_list.published_at is None:
        raise NotPublishedYet()
    session.scalars(
        select(BeneficiaryList.id)
        .where(BeneficiaryList.id == beneficiary_list.id)
        .with_for_update()
    ).one()
    if member.id in _members(session, beneficiary_list.id):
        raise AlreadyApproved()
    session.add(
        ListApproval(list_id=beneficiary_list.id, member_id=member.id, approved_at=utcnow())
    )
    session.flush()
    count = approval_count(session, beneficiary_list.id)
    details: dict[str, audit.Scalar] = {
        "approvals": count,
        "approved": count >= REQUIRED_APPROVALS,
    }
    audit.record(
        session, member.username, "list.approved", "list", str(beneficiary_list.id), details
    )
    return count


def _members(session: Session, list_id: int) -> set[int]:
    stmt = select(ListApproval.member_id).where(ListApproval.list_id == list_id)
    return set(session.scalars(stmt))


def approval_count(session: Session, list_id: int) -> int:
    stmt = select(func.count(ListApproval.id)).where(ListApproval.list_id == list_id)
    return int(session.scalar(stmt) or 0)


def is_approved(session: Session, list_id: int) -> bool:
    """Whether the list has the committee's two approvals."""
    return approval_count(session, list_id) >= REQUIRED_APPROVALS


def require_approval(session: Session, list_id: int) -> None:
    """Raise `ApprovalPending` unless the list has its two approvals."""
    count = approval_count(session, list_id)
    if count < REQUIRED_APPROVALS:
        raise ApprovalPending(count)


def approvals_of(session: Session, list_id: int) -> list[Approval]:
    """The list's approvals, oldest first, with the members' usernames."""
    stmt = (
        select(StaffUser.username, ListApproval.approved_at)
        .join(StaffUser, StaffUser.id == ListApproval.member_id)
        .where(ListApproval.list_id == list_id)
        .order_by(ListApproval.id)
    )
    return [Approval(username, at) for username, at in session.execute(stmt)]
