"""A correction that changes what a family's voucher stands for: revoke it, issue a new one.

Lists are fixed once built (`lists verify` re-derives them), so an approved correction does not
move a family on a published list; it changes what the distribution point must check:

- the corrected data exclude the family (circular part 5.1(f): the head or a member works in
  the public sector, a pension): its unused voucher is revoked and no new one is issued;
- the corrected data change the head of household (name or ID number, what the officer
  compares with the card): the unused voucher is revoked and a new one issued for the same
  line of the list, so a voucher printed for the old head no longer serves.

The complaint room's adapter calls this in the correction's transaction (core/ cannot call
distribution/: the layers point the other way). A used voucher is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.applications import Application, ApplicationStatus
from core.corrections import CorrectionRequest
from distribution.handovers import Voucher, issue_voucher
from distribution.revocation_list import RevocationReason
from distribution.revocations import revoke_voucher
from scoring.lists import ListEntry

# What the officer compares with the ID card: a change here makes the old voucher the wrong one.
HEAD_FIELDS = frozenset(
    {"head_first_name", "head_father_name", "head_family_name", "head_id_number"}
)


@dataclass(frozen=True)
class Replaced:
    """One voucher a correction revoked, and the one issued in its place (None if excluded)."""

    old_code: str
    new_code: str | None


def vouchers_after_correction(
    session: Session,
    correction: CorrectionRequest,
    application: Application,
    key: Ed25519PrivateKey,
    actor: str,
) -> list[Replaced]:
    """Revoke (and reissue) the family's unused vouchers if the approved correction calls for it."""
    reason = _reason(correction, application)
    if reason is None:
        return []
    stmt = select(Voucher).where(
        Voucher.application_id == application.id,
        Voucher.revoked_at.is_(None),
        Voucher.used_at.is_(None),
    )
    vouchers = session.scalars(stmt.order_by(Voucher.id)).all()
    return [_replace(session, v, reason, correction, application, key, actor) for v in vouchers]


def _reason(correction: CorrectionRequest, application: Application) -> RevocationReason | None:
    if application.status == ApplicationStatus.INELIGIBLE:
        return RevocationReason.CORRECTION_INELIGIBLE
    if HEAD_FIELDS & {change["field"] for change in correction.change_list()}:
        return RevocationReason.CORRECTION_REISSUED
    return None


def _replace(
    session: Session,
    voucher: Voucher,
    reason: RevocationReason,
    correction: CorrectionRequest,
    application: Application,
    key: Ed25519PrivateKey,
    actor: str,
) -> Replaced:
    revocation = revoke_voucher(
        session,
        voucher,
        reason,
        actor,
        revoked_by_id=correction.decided_by_id,
        correction_id=correction.id,
    )
    if reason is RevocationReason.CORRECTION_INELIGIBLE:
        return Replaced(voucher.code, None)
    entry = session.get_one(ListEntry, voucher.entry_id)
    new = issue_voucher(session, entry, application, key)
    revocation.replaced_by_id = new.id
    details: dict[str, audit.Scalar] = {"code": new.code, "replaces": voucher.code}
    audit.record(session, actor, "voucher.reissued", "voucher", str(new.id), details)
    return Replaced(voucher.code, new.code)
