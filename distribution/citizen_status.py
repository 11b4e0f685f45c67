"""What `/status` shows a family that typed its code: each step of its application, with dates.

Received, being checked, eligible or not and why, selected or not and why, the voucher (its
code and what its QR code holds), handed over. Read from the same records the complaint room
reads (scoring/status.py, the published list, the voucher), so the page and 1766 say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationStatus
from core.clock import beirut_day
from core.sayings import Stage
from distribution.handovers import Voucher
from scoring.explain import published_entry
from scoring.lists import BeneficiaryList, ListEntry
from scoring.status import status_of


@dataclass(frozen=True)
class VoucherShown:
    """The family's voucher on the published list: the code to read out, the token to scan."""

    code: str  # ten digits
    token: str  # what its QR code holds (distribution/vouchers.py)
    issued_on: date
    handed_over_on: date | None  # the voucher was used: the aid was handed over


@dataclass(frozen=True)
class CitizenStatus:
    """An application's steps as its family reads them; a reason is a code `texts/` words."""

    reference: str
    received_on: date
    stage: Stage
    ineligible_reason: str | None  # the circular's rule that excludes it (core.household)
    outcome: str | None  # on the newest published list: selected, not_selected or excluded
    outcome_reason: str | None  # why not selected or excluded (texts.lists.reason_text)
    published_on: date | None  # the day that list was published
    voucher: VoucherShown | None


def citizen_status(session: Session, application: Application) -> CitizenStatus:
    """The application's status for its own family (the caller checked the one-time code)."""
    entry = published_entry(session, application.id)
    published_on = _published_on(session, entry)
    said = status_of(application)
    return CitizenStatus(
        reference=application.reference,
        received_on=application.submitted_on or beirut_day(application.submitted_at),
        stage=said.stage,
        ineligible_reason=(
            application.reason if application.status == ApplicationStatus.INELIGIBLE else None
        ),
        outcome=entry.outcome if entry else None,
        outcome_reason=entry.reason if entry else None,
        published_on=published_on,
        voucher=_voucher(session, entry),
    )


def _published_on(session: Session, entry: ListEntry | None) -> date | None:
    if entry is None:
        return None
    published_at = session.get_one(BeneficiaryList, entry.list_id).published_at
    return beirut_day(published_at) if published_at else None


def _voucher(session: Session, entry: ListEntry | None) -> VoucherShown | None:
    if entry is None:
        return None
    live = select(Voucher).where(Voucher.entry_id == entry.id, Voucher.revoked_at.is_(None))
    voucher = session.scalar(live)
    if voucher is None:
        return None
    used = beirut_day(voucher.used_at) if voucher.used_at else None
    return VoucherShown(voucher.code, voucher.token, beirut_day(voucher.issued_at), used)
