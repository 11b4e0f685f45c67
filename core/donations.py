"""Donations in kind or in cash (the circular's optional module) and what they are given to.

A municipality's focal point records what its municipality received; the ministry records what
the country received (a national donation: no area). A donation is then allocated, in parts,
to a municipality's weekly needs (core/needs.py) or to a family on a published list, through
its voucher (distribution/donation_allocations.py). Nothing is paid here: the module records
what was given and where it went.

Decisions where the circular is silent:

- A donation belongs to the area that received it, and only that area's recorders (its focal
  points, or the ministry for a national donation) allocate it, to needs or families inside it.
- Quantities and amounts are kept in hundredths, as whole numbers (exact sums on both stores):
  cash has cents, and goods may come in half tonnes.
- An allocation never exceeds what is left: one conditional UPDATE adds it to the donation's
  running total only while the total stays within the donation, so two allocations at once
  cannot both take the last of it (PostgreSQL re-checks the row after the other commits;
  SQLite writes one at a time).
- A private person's name is personal data: it is kept on the donation, shown to the area that
  manages it, and never written to the audit trail; an organisation's name is not personal and
  is audited. An anonymous donation keeps no name at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.geography import Locality
from core.needs import NeedsReport
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, visible
from core.users import StaffUser


class DonationKind(StrEnum):
    IN_KIND = "in_kind"  # goods: a description, a quantity and its unit
    CASH = "cash"  # money: an amount in a currency


class DonorKind(StrEnum):
    PERSON = "person"  # a private person: named on the page, never in the audit trail
    ORGANISATION = "organisation"  # a company, an association, a state: named everywhere
    ANONYMOUS = "anonymous"  # no name is kept


class Currency(StrEnum):
    LBP = "LBP"
    USD = "USD"


class AllocationTarget(StrEnum):
    NEEDS = "needs"  # a municipality's weekly report of needs
    FAMILY = "family"  # a family on a published list, by its voucher


class Donation(AreaScoped, Base):
    """One donation as received; its area is the municipality's, or none for the ministry's."""

    __tablename__ = "donations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    donor_kind: Mapped[str] = mapped_column(String(12))
    donor_name: Mapped[str | None] = mapped_column(String(120))  # None when anonymous
    what: Mapped[str] = mapped_column(String(200))  # the goods, or the currency's code
    unit: Mapped[str] = mapped_column(String(40), default="")  # "" for cash
    hundredths: Mapped[int] = mapped_column(BigInteger)  # quantity or amount, x 100
    allocated_hundredths: Mapped[int] = mapped_column(BigInteger, default=0)
    received_on: Mapped[date] = mapped_column(Date, index=True)  # Beirut's day
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The receiving municipality, for its name in the reader's language (None: national).
    municipality: Mapped[Locality | None] = relationship(
        primaryjoin="foreign(Donation.locality_code) == Locality.code",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def quantity(self) -> Decimal:
        return hundredths_to_decimal(self.hundredths)

    @property
    def remaining(self) -> Decimal:
        return hundredths_to_decimal(self.hundredths - self.allocated_hundredths)


class DonationAllocation(AreaScoped, Base):
    """A part of a donation given to a week's needs or to a family; its area is the target's."""

    __tablename__ = "donation_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), index=True)
    target: Mapped[str] = mapped_column(String(8))
    needs_report_id: Mapped[int | None] = mapped_column(ForeignKey("needs_reports.id"))
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"), index=True)
    hundredths: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(300), default="")
    allocated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    donation: Mapped[Donation] = relationship(lazy="joined", viewonly=True)
    needs_report: Mapped[NeedsReport | None] = relationship(lazy="selectin", viewonly=True)
    municipality: Mapped[Locality | None] = relationship(
        primaryjoin="foreign(DonationAllocation.locality_code) == Locality.code",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def quantity(self) -> Decimal:
        return hundredths_to_decimal(self.hundredths)


LIMIT = 200  # a page lists this many, newest first


def hundredths_to_decimal(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


# --- recording -----------------------------------------------------------------------------


class NotARecorder(PermissionError):
    """The account records and allocates no donation (not a focal point, not the ministry)."""


class UnknownDonation(LookupError):
    """No donation of this id that the account manages."""


class UnknownTarget(LookupError):
    """No needs report or voucher of this id (or code) inside the donation's area."""


@dataclass(frozen=True)
class DonationDraft:
    """A donation as typed and cleaned, before it is recorded."""

    kind: DonationKind
    donor_kind: DonorKind
    donor_name: str | None
    what: str
    unit: str
    hundredths: int
    received_on: date


def record_donation(session: Session, user: StaffUser, draft: DonationDraft) -> Donation:
    """Record a donation received by the user's municipality (or, for the ministry, nationally)."""
    if not can(user.role, Permission.RECORD_DONATIONS):
        raise NotARecorder()
    donation = Donation(
        kind=draft.kind.value,
        donor_kind=draft.donor_kind.value,
        donor_name=draft.donor_name,
        what=draft.what,
        unit=draft.unit,
        hundredths=draft.hundredths,
        allocated_hundredths=0,
        received_on=draft.received_on,
        recorded_by_id=user.id,
        recorded_at=utcnow(),
    )
    donation.place_in(user.area)
    session.add(donation)
    session.flush()
    details: dict[str, audit.Scalar] = {
        "kind": draft.kind.value,
        "what": draft.what,
        "unit": draft.unit,
        "quantity": str(donation.quantity),
        "received_on": draft.received_on.isoformat(),
        "donor_kind": draft.donor_kind.value,
        "area": user.area.code,
    }
    if draft.donor_kind is DonorKind.ORGANISATION:  # a private person's name stays out
        details["donor"] = draft.donor_name
    audit.record(session, user.username, "donation.recorded", "donation", str(donation.id), details)
    return donation


# --- allocating ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """How much of a donation to give, and why (as typed and cleaned)."""

    hundredths: int
    note: str


class AboveBalance(Exception):
    """The share is more than what is left of the donation (perhaps taken a moment ago)."""

    def __init__(self, remaining: Decimal) -> None:
        super().__init__(str(remaining))
        self.remaining = remaining


def manages(user: Viewer, donation: Donation) -> bool:
    """The user records for the donation's own area: its municipality, or the ministry."""
    area = user.area
    same = (donation.governorate_code, donation.district_code, donation.locality_code) == (
        area.governorate_code,
        area.district_code,
        area.locality_code,
    )
    return can(user.role, Permission.RECORD_DONATIONS) and same


def managed_donation(session: Session, user: StaffUser, donation_id: int) -> Donation:
    """The donation, if the user allocates it; `UnknownDonation` otherwise (no hint it exists)."""
    donation = session.get(Donation, donation_id)
    if donation is None or not manages(user, donation):
        raise UnknownDonation()
    return donation


def inside(donation: Donation, record: AreaScoped) -> bool:
    """The record (a needs report, a voucher) lies in the donation's area (national: anywhere)."""
    if donation.locality_code is None:
        return True
    return record.locality_code == donation.locality_code


def allocate_to_needs(
    session: Session, user: StaffUser, donation: Donation, report_id: int, share: Share
) -> DonationAllocation:
    """Give part of a donation to a week's needs of a municipality in the donation's area."""
    report = session.get(NeedsReport, report_id)
    if report is None or not inside(donation, report):
        raise UnknownTarget()
    return allocate(session, user, donation, share, report, needs_report_id=report.id)


def allocate(
    session: Session,
    user: StaffUser,
    donation: Donation,
    share: Share,
    target: AreaScoped,
    *,
    needs_report_id: int | None = None,
    voucher_id: int | None = None,
) -> DonationAllocation:
    """Take `share` from what is left of the donation, or `AboveBalance` and nothing written.

    The check and the taking are one statement (see the module's docstring): safe when two
    recorders allocate the same donation at once.
    """
    taken = session.execute(
        update(Donation)
        .where(
            Donation.id == donation.id,
            Donation.allocated_hundredths + share.hundredths <= Donation.hundredths,
        )
        .values(allocated_hundredths=Donation.allocated_hundredths + share.hundredths)
        .execution_options(synchronize_session=False)
    )
    session.refresh(donation)
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has it
        raise AboveBalance(donation.remaining)
    kind = AllocationTarget.NEEDS if needs_report_id is not None else AllocationTarget.FAMILY
    allocation = DonationAllocation(
        donation_id=donation.id,
        target=kind.value,
        needs_report_id=needs_report_id,
        voucher_id=voucher_id,
        hundredths=share.hundredths,
        note=share.note,
        allocated_by_id=user.id,
        allocated_at=utcnow(),
    )
    allocation.governorate_code = target.governorate_code
    allocation.district_code = target.district_code
    allocation.locality_code = target.locality_code
    session.add(allocation)
    session.flush()
    details: dict[str, audit.Scalar] = {
        "donation": donation.id,
        "target": kind.value,
        "target_id": needs_report_id if needs_report_id is not None else voucher_id,
        "quantity": str(allocation.quantity),
        "remaining": str(donation.remaining),
    }
    audit.record(
        session, user.username, "donation.allocated", "donation_allocation", str(allocation.id),
        details,
    )  # fmt: skip
    return allocation


# --- reading -------------------------------------------------------------------------------


def donations_visible_to(session: Session, viewer: Viewer) -> list[Donation]:
    """The donations received in the viewer's area, newest first."""
    stmt = select(Donation).order_by(Donation.received_on.desc(), Donation.id.desc())
    stmt = visible(stmt, viewer, Donation, Permission.VIEW_DONATIONS).limit(LIMIT)
    return list(session.scalars(stmt))


def allocations_visible_to(session: Session, viewer: Viewer) -> list[DonationAllocation]:
    """Allocations to needs and families of the viewer's area (the ministry's included)."""
    stmt = select(DonationAllocation).order_by(DonationAllocation.id.desc())
    stmt = visible(stmt, viewer, DonationAllocation, Permission.VIEW_DONATIONS).limit(LIMIT)
    return list(session.scalars(stmt))


def donor_shown(viewer: Viewer, donation: Donation) -> str | None:
    """The donor's name as this viewer may read it: a person's only for the managing area."""
    if donation.donor_kind == DonorKind.PERSON and not manages(viewer, donation):
        return None
    return donation.donor_name


def donations_to_allocate(session: Session, user: StaffUser) -> list[Donation]:
    """The donations the user manages with something left to give, newest first."""
    if not can(user.role, Permission.RECORD_DONATIONS):
        return []
    area = user.area
    stmt = (
        select(Donation)
        .where(
            Donation.governorate_code.is_(None)
            if area.governorate_code is None
            else Donation.governorate_code == area.governorate_code,
            Donation.locality_code.is_(None)
            if area.locality_code is None
            else Donation.locality_code == area.locality_code,
            Donation.allocated_hundredths < Donation.hundredths,
        )
        .order_by(Donation.received_on.desc(), Donation.id.desc())
        .limit(LIMIT)
    )
    return list(session.scalars(stmt))


RECENT_WEEKS = 4  # the needs reports offered for an allocation: this week and the 3 before


def reports_to_allocate_to(
    session: Session, user: StaffUser, today: date
) -> list[tuple[NeedsReport, Locality]]:
    """Recent weekly needs reports in the user's area (what a donation may be given to)."""
    since = today - timedelta(days=today.weekday() + 7 * (RECENT_WEEKS - 1))
    stmt = (
        select(NeedsReport, Locality)
        .join(Locality, Locality.code == NeedsReport.locality_code)
        .where(NeedsReport.week_start >= since)
        .order_by(NeedsReport.week_start.desc(), NeedsReport.locality_code)
    )
    stmt = visible(stmt, user, NeedsReport, Permission.RECORD_DONATIONS).limit(LIMIT)
    return [(report, place) for report, place in session.execute(stmt)]
