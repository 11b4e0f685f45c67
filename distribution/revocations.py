"""Revoking a voucher: it is refused at every distribution point, and published as revoked.

A voucher is revoked when the technical committee decides a dispute against it
(`distribution/disputes.py`) or when a correction changes the family's outcome
(`distribution/outcome_changes.py`). The voucher row keeps its code and gains `revoked_at`;
one `voucher_revocations` row says why, who and, for a correction, which voucher replaced it.
A used voucher is never revoked: the aid was handed over, and revoking it undoes nothing.
Every revocation is on the signed list anyone can fetch beside the public key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import CursorResult, ForeignKey, Index, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from distribution.handovers import Voucher, VoucherAlreadyUsed
from distribution.revocation_list import RevocationReason, Revoked, VoucherRevoked, signed_list

MAX_NOTE = 500  # the committee's reason, in words (kept here; the list prints only the code)

# One live voucher per list entry: a revoked one keeps its row (and its code) beside the new one.
_LIVE = Voucher.revoked_at.is_(None)
Index(
    "uq_vouchers_live_entry",
    Voucher.entry_id,
    unique=True,
    postgresql_where=_LIVE,
    sqlite_where=_LIVE,
)


class VoucherRevocation(Base):
    """Why and by whom one voucher was revoked; at most one per voucher."""

    __tablename__ = "voucher_revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), unique=True)
    code: Mapped[str] = mapped_column(String(10))  # the revoked voucher's code, as listed
    reason: Mapped[str] = mapped_column(String(24))  # a RevocationReason
    note: Mapped[str | None] = mapped_column(String(MAX_NOTE))  # the committee's words
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # the dispute
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"))


def revoke_voucher(
    session: Session,
    voucher: Voucher,
    reason: RevocationReason,
    actor: str,
    **why: Any,
) -> VoucherRevocation:
    """Revoke an unused voucher, once; `why` names the ticket, correction, note or staff id.

    One conditional UPDATE decides, so a voucher handed over at the same instant is either
    used (and `VoucherAlreadyUsed` is raised) or revoked, never both.
    """
    now = utcnow()
    done = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.used_at.is_(None), _LIVE)
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], done).rowcount != 1:
        session.refresh(voucher)
        raise VoucherRevoked() if voucher.revoked_at is not None else VoucherAlreadyUsed()
    voucher.revoked_at, voucher.revoked_reason = now, reason
    revocation = VoucherRevocation(
        voucher_id=voucher.id, code=voucher.code, reason=reason, revoked_at=now, **why
    )
    session.add(revocation)
    session.flush()
    details: dict[str, audit.Scalar] = {"code": voucher.code, "reason": str(reason)}
    audit.record(session, actor, "voucher.revoked", "voucher", str(voucher.id), details)
    return revocation


def revocation_of(session: Session, voucher: Voucher) -> VoucherRevocation | None:
    """Why the voucher was revoked, if it was."""
    stmt = select(VoucherRevocation).where(VoucherRevocation.voucher_id == voucher.id)
    return session.scalar(stmt)


def published_revocations(session: Session, key: Ed25519PrivateKey) -> str:
    """Every revoked voucher, oldest first, as the signed list (`/vouchers/revoked`)."""
    stmt = select(VoucherRevocation.code, VoucherRevocation.revoked_at, VoucherRevocation.reason)
    rows = session.execute(stmt.order_by(VoucherRevocation.revoked_at, VoucherRevocation.id))
    return signed_list([Revoked(*row) for row in rows], utcnow(), key)
