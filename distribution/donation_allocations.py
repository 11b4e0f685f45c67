"""Giving part of a donation to a family on a published list, named by its voucher's code.

A family on a list is known to a municipality by its voucher (the code printed on it, the one
the army types): a voucher exists only for a selected family of a published list, and carries
the family's area. The rules of the taking itself (never more than is left) are
`core.donations.allocate`'s.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.donations import Donation, DonationAllocation, Share, UnknownTarget, allocate, inside
from core.references import parse_reference
from core.users import StaffUser
from distribution.handovers import Voucher


class RevokedVoucher(UnknownTarget):
    """The voucher was revoked (a dispute, a correction): it no longer names a family to give
    to; a family whose outcome was corrected has a new voucher, with a new code."""


def allocate_to_family(
    session: Session, user: StaffUser, donation: Donation, typed_code: str, share: Share
) -> DonationAllocation:
    """Give `share` of the donation to the family of the voucher typed, in the donation's area.

    `UnknownTarget` for a code that is mistyped, on no voucher, or a family outside the area
    (one answer for all three: a municipality learns nothing of other municipalities' lists).
    """
    code = parse_reference(typed_code.strip())
    voucher = None if code is None else session.scalar(select(Voucher).where(Voucher.code == code))
    if voucher is None or not inside(donation, voucher):
        raise UnknownTarget()
    if voucher.revoked_at is not None:
        raise RevokedVoucher()
    return allocate(session, user, donation, share, voucher, voucher_id=voucher.id)


def voucher_codes(session: Session, allocations: list[DonationAllocation]) -> dict[int, str]:
    """The codes of the vouchers these allocations went to, by voucher id (for their page)."""
    ids = {a.voucher_id for a in allocations if a.voucher_id is not None}
    if not ids:
        return {}
    stmt = select(Voucher.id, Voucher.code).where(Voucher.id.in_(ids))
    return {voucher_id: code for voucher_id, code in session.execute(stmt)}
