"""Donations: amounts as people type them, who records and allocates what, never more than is
left (also when two allocate at once, on PostgreSQL), balances rolled up each level's way, and
what the audit trail keeps of a donor."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.clock import BEIRUT
from core.db import make_sessionmaker
from core.donation_balances import NATIONAL_ROW, Balance, balances, totals
from core.donation_forms import (
    AMOUNT_OUT_OF_RANGE,
    MAX_CASH,
    MAX_IN_KIND,
    NOT_AN_AMOUNT,
    RECEIVED_IN_FUTURE,
    RECEIVED_TOO_EARLY,
    DonationInvalid,
    clean_donation,
    clean_share,
    parse_hundredths,
)
from core.donations import (
    AboveBalance,
    Donation,
    DonationAllocation,
    DonationDraft,
    DonationKind,
    DonorKind,
    NotARecorder,
    Share,
    UnknownDonation,
    UnknownTarget,
    allocate_to_needs,
    allocations_visible_to,
    donations_visible_to,
    donor_shown,
    managed_donation,
    record_donation,
)
from core.needs import NeedsFigures, NeedsReport, file_needs
from core.roles import Role
from core.users import StaffUser
from distribution.donation_allocations import RevokedVoucher, allocate_to_family
from distribution.handovers import issue_vouchers
from distribution.revocation_list import RevocationReason
from distribution.revocations import revoke_voucher
from tests.plugins.handover_world import World as HandoverWorld
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import (
    ELSEWHERE,
    HOME,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
    load_sample_geography,
)
from tests.support.quick_accounts import account

APRIL = datetime(2020, 4, 15, 10, 0, tzinfo=BEIRUT)


def draft(
    what: str = "Rice",
    hundredths: int = 100_00,
    kind: DonationKind = DonationKind.IN_KIND,
    donor: tuple[DonorKind, str | None] = (DonorKind.ORGANISATION, "Food Bank"),
) -> DonationDraft:
    unit = "" if kind is DonationKind.CASH else "kg"
    return DonationDraft(kind, donor[0], donor[1], what, unit, hundredths, APRIL.date())


# --- amounts and forms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "hundredths"),
    [
        ("1500", 150_000),
        ("١٬٥٠٠", 150_000),
        ("1,500,000.50", 150_000_050),
        (" 12.5 ", 1250),
        ("٢٫٥", 250),
        ("0.01", 1),
    ],
)
def test_amounts_are_read_as_people_write_them(typed: str, hundredths: int) -> None:
    assert parse_hundredths(typed, MAX_CASH) == hundredths


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("-5", AMOUNT_OUT_OF_RANGE),
        ("0", AMOUNT_OUT_OF_RANGE),
        ("0.00", AMOUNT_OUT_OF_RANGE),
        (str(MAX_IN_KIND + 1), AMOUNT_OUT_OF_RANGE),
        ("9" * 5000, AMOUNT_OUT_OF_RANGE),
        ("twelve", NOT_AN_AMOUNT),
        ("1.234", NOT_AN_AMOUNT),
        ("1e6", NOT_AN_AMOUNT),
        ("", "required"),
    ],
)
def test_amounts_that_are_not_one_are_refused_with_a_reason(typed: str, code: str) -> None:
    form = {"kind": ["in_kind"], "donor_kind": ["anonymous"], "what": ["Rice"], "unit": ["kg"]}
    with pytest.raises(DonationInvalid) as refused:
        clean_donation({**form, "quantity": [typed], "received_on": ["2020-04-10"]})
    assert [(e.field, e.code) for e in refused.value.errors] == [("quantity", code)]


def test_a_cash_donation_names_its_currency_and_an_anonymous_one_keeps_no_name() -> None:
    cleaned = clean_donation(
        {
            "kind": ["cash"],
            "donor_kind": ["anonymous"],
            "donor_name": ["Someone who wished to stay unknown"],
            "currency": ["USD"],
            "quantity": ["2,500.75"],
            "received_on": ["2020-04-10"],
        }
    )
    assert (cleaned.what, cleaned.unit, cleaned.hundredths) == ("USD", "", 250_075)
    assert cleaned.donor_name is None


def test_a_named_donor_needs_a_name_and_every_field_is_checked_at_once(clock: object) -> None:
    from core import clock as service_clock

    service_clock.freeze(APRIL)
    with pytest.raises(DonationInvalid) as refused:
        clean_donation(
            {
                "kind": ["in_kind"],
                "donor_kind": ["person"],
                "what": ["x" * 201],
                "unit": ["<b>"],
                "quantity": ["5"],
                "received_on": ["2020-04-16"],  # tomorrow in Beirut
            }
        )
    codes = {e.field: e.code for e in refused.value.errors}
    assert codes == {
        "donor_name": "required",
        "what": "too_long",
        "unit": "invalid_characters",
        "received_on": RECEIVED_IN_FUTURE,
    }
    with pytest.raises(DonationInvalid) as early:
        clean_donation({"kind": ["cash"], "donor_kind": ["anonymous"], "currency": ["EUR"],
                        "quantity": ["5"], "received_on": ["2019-12-31"]})  # fmt: skip
    assert {e.field: e.code for e in early.value.errors} == {
        "currency": "invalid_choice",
        "received_on": RECEIVED_TOO_EARLY,
    }


# --- recording and allocating -------------------------------------------------------------


@dataclass
class Town:
    focal: StaffUser  # Chiyah's focal point
    neighbour: StaffUser  # Furn Ech-Chebbak's, same district
    ministry: StaffUser
    mukhtar: StaffUser
    report: NeedsReport  # Chiyah's needs this week
    neighbour_report: NeedsReport


@pytest.fixture
def donation_town(db: Session) -> Town:
    load_sample_geography(db)
    focal = account(db, "focal", Role.FOCAL_POINT, HOME)
    neighbour = account(db, "neighbour", Role.FOCAL_POINT, SAME_DISTRICT)
    ministry = account(db, "ministry", Role.MINISTRY, "LB")
    mukhtar = account(db, "mukhtar", Role.MUKHTAR, HOME)
    figures = NeedsFigures(50, 10, "", "")
    report = file_needs(db, focal, figures, APRIL)
    neighbour_report = file_needs(db, neighbour, figures, APRIL)
    db.commit()
    return Town(focal, neighbour, ministry, mukhtar, report, neighbour_report)


def audited(db: Session, action: str) -> list[dict[str, object]]:
    stmt = select(AuditEvent.details).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    return [json.loads(d) if isinstance(d, str) else dict(d) for d in db.scalars(stmt)]


def test_a_focal_point_records_for_its_municipality_and_the_ministry_nationally(
    db: Session, donation_town: Town
) -> None:
    town = record_donation(db, donation_town.focal, draft())
    country = record_donation(
        db, donation_town.ministry, draft("LBP", 5_000_000_00, DonationKind.CASH)
    )
    assert (town.locality_code, town.district_code) == (HOME, "LB32")
    assert (country.governorate_code, country.locality_code) == (None, None)
    with pytest.raises(NotARecorder):
        record_donation(db, donation_town.mukhtar, draft())
    assert db.scalar(select(func.count()).select_from(Donation)) == 2


def test_the_audit_trail_names_organisations_never_private_persons(
    db: Session, donation_town: Town
) -> None:
    record_donation(db, donation_town.focal, draft(donor=(DonorKind.PERSON, "Rima Haddad")))
    record_donation(db, donation_town.focal, draft(donor=(DonorKind.ORGANISATION, "Food Bank")))
    person, organisation = audited(db, "donation.recorded")
    assert "Rima" not in json.dumps(person) and person["donor_kind"] == "person"
    assert organisation["donor"] == "Food Bank"
    assert (person["quantity"], person["what"], person["area"]) == ("100.00", "Rice", HOME)


def test_allocations_never_exceed_what_is_left_and_a_refusal_writes_nothing(
    db: Session, donation_town: Town
) -> None:
    rice = record_donation(db, donation_town.focal, draft(hundredths=100_00))
    allocate_to_needs(db, donation_town.focal, rice, donation_town.report.id, Share(60_00, ""))
    with pytest.raises(AboveBalance) as refused:
        allocate_to_needs(db, donation_town.focal, rice, donation_town.report.id, Share(40_01, ""))
    assert refused.value.remaining == Decimal("40.00")
    last = allocate_to_needs(
        db, donation_town.focal, rice, donation_town.report.id, Share(40_00, "x")
    )
    assert rice.remaining == Decimal("0.00") and last.locality_code == HOME
    assert db.scalar(select(func.count()).select_from(DonationAllocation)) == 2
    assert [d["remaining"] for d in audited(db, "donation.allocated")] == ["40.00", "0.00"]


def test_a_donation_goes_only_to_needs_inside_its_area_and_only_its_area_allocates_it(
    db: Session, donation_town: Town
) -> None:
    town, country = donation_town.focal, donation_town.ministry
    rice = record_donation(db, town, draft())
    with pytest.raises(UnknownTarget):
        allocate_to_needs(db, town, rice, donation_town.neighbour_report.id, Share(1_00, ""))
    with pytest.raises(UnknownTarget):
        allocate_to_needs(db, town, rice, 99_999, Share(1_00, ""))
    for outsider in (donation_town.neighbour, country, donation_town.mukhtar):
        with pytest.raises(UnknownDonation):
            managed_donation(db, outsider, rice.id)
    national = record_donation(db, country, draft("USD", 1000_00, DonationKind.CASH))
    given = allocate_to_needs(
        db, country, managed_donation(db, country, national.id),
        donation_town.neighbour_report.id, Share(250_00, "for the neighbour's week"),
    )  # fmt: skip
    assert given.locality_code == SAME_DISTRICT
    # The municipality sees what the ministry gave it, not the ministry's donation itself.
    neighbour = donation_town.neighbour
    assert [a.id for a in allocations_visible_to(db, neighbour)] == [given.id]
    assert donations_visible_to(db, neighbour) == []
    assert {d.id for d in donations_visible_to(db, country)} == {rice.id, national.id}


def test_a_share_is_cleaned_against_the_donations_kind(db: Session, donation_town: Town) -> None:
    cash = record_donation(db, donation_town.focal, draft("LBP", 100_00, DonationKind.CASH))
    assert clean_share({"quantity": ["1,000,000"], "note": ["rent"]}, cash) == Share(
        100_000_000, "rent"
    )
    with pytest.raises(DonationInvalid) as refused:
        clean_share({"quantity": ["-3"], "note": ["y" * 301]}, cash)
    assert {e.field for e in refused.value.errors} == {"quantity", "note"}


def test_a_family_on_a_published_list_gets_its_share_by_voucher_code(
    db: Session, handover_world: HandoverWorld
) -> None:
    focal = account(db, "focal-home", Role.FOCAL_POINT, HOME)
    vouchers = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY)
    [beirut] = issue_vouchers(db, handover_world.published, ELSEWHERE, SERVICE_KEY)
    parcels = record_donation(db, focal, draft("Food parcels", 30_00))
    typed = f"{vouchers[0].code[:5]} {vouchers[0].code[5:]}"  # as printed, with its space
    given = allocate_to_family(db, focal, parcels, typed, Share(1_00, ""))
    assert (given.voucher_id, given.target, given.locality_code) == (vouchers[0].id, "family", HOME)
    for code in (beirut.code, "12345", "not a code", "9" * 500):
        with pytest.raises(UnknownTarget):
            allocate_to_family(db, focal, parcels, code, Share(1_00, ""))
    assert parcels.remaining == Decimal("29.00")
    revoke_voucher(db, vouchers[1], RevocationReason.DISPUTE, "committee-a")
    with pytest.raises(RevokedVoucher):
        allocate_to_family(db, focal, parcels, vouchers[1].code, Share(1_00, ""))
    assert parcels.remaining == Decimal("29.00")


# --- balances -----------------------------------------------------------------------------


def test_balances_roll_up_from_municipality_to_the_country(
    db: Session, donation_town: Town
) -> None:
    far = account(db, "far", Role.FOCAL_POINT, SAME_GOVERNORATE)
    beirut = account(db, "beirut", Role.FOCAL_POINT, ELSEWHERE)
    record_donation(db, donation_town.focal, draft(hundredths=100_00))
    record_donation(db, donation_town.neighbour, draft(hundredths=50_00))
    record_donation(db, far, draft(hundredths=7_00))
    record_donation(db, beirut, draft("LBP", 1_000_00, DonationKind.CASH))
    usd = record_donation(db, donation_town.ministry, draft("USD", 500_00, DonationKind.CASH))
    allocate_to_needs(db, donation_town.ministry, usd, donation_town.report.id, Share(200_00, ""))
    rice = next(d for d in donations_visible_to(db, donation_town.focal))
    allocate_to_needs(db, donation_town.focal, rice, donation_town.report.id, Share(30_00, ""))

    def seen(username: str, role: Role, area: str) -> list[tuple[str, str, str, str]]:
        viewer = account(db, username, role, area)
        return [(b.area, b.what, str(b.received), str(b.remaining)) for b in balances(db, viewer)]

    assert seen("minister", Role.INSPECTOR, "LB") == [
        (NATIONAL_ROW, "USD", "500.00", "300.00"),
        ("LB1", "LBP", "1000.00", "1000.00"),
        ("LB3", "Rice", "157.00", "127.00"),
    ]
    assert seen("governor", Role.GOVERNOR, "LB3") == [
        ("LB32", "Rice", "150.00", "120.00"),
        ("LB36", "Rice", "7.00", "7.00"),
    ]
    assert seen("qaimaqam", Role.QAIMAQAM, "LB32") == [
        (HOME, "Rice", "100.00", "70.00"),
        (SAME_DISTRICT, "Rice", "50.00", "50.00"),
    ]
    assert seen("mukhtar-2", Role.MUKHTAR, HOME) == []  # no permission to read donations
    [home] = balances(db, donation_town.focal)
    assert (home.area, home.allocated) == (HOME, Decimal("30.00"))
    country = balances(db, donation_town.ministry)
    assert [(t.what, str(t.received)) for t in totals(country)] == [
        ("LBP", "1000.00"),
        ("USD", "500.00"),
        ("Rice", "157.00"),
    ]


def test_a_private_donors_name_is_read_by_the_managing_area_only(
    db: Session, donation_town: Town
) -> None:
    person = record_donation(db, donation_town.focal, draft(donor=(DonorKind.PERSON, "Rima")))
    company = record_donation(db, donation_town.focal, draft(donor=(DonorKind.ORGANISATION, "Co")))
    qaimaqam = account(db, "qaimaqam", Role.QAIMAQAM, "LB32")
    assert donor_shown(donation_town.focal, person) == "Rima"
    assert donor_shown(qaimaqam, person) is None
    assert donor_shown(qaimaqam, company) == "Co"
    assert Balance("x", "in_kind", "Rice", "kg", Decimal(5), Decimal(2)).remaining == 3


# --- two allocations at once, on PostgreSQL -----------------------------------------------


def test_two_allocations_at_once_cannot_both_take_the_last_of_a_donation(
    race_engine: Engine,
) -> None:
    factory = make_sessionmaker(race_engine)
    with factory() as setup:
        load_sample_geography(setup)
        focal = account(setup, "race-focal", Role.FOCAL_POINT, HOME)
        report = file_needs(setup, focal, NeedsFigures(1, 1, "", ""), APRIL)
        donation = record_donation(setup, focal, draft(hundredths=100_00))
        setup.commit()
        ids = (focal.id, report.id, donation.id)
    sessions = [factory(), factory()]
    together = threading.Barrier(2)
    outcomes: list[str] = []

    def run(session: Session) -> None:
        user = session.get_one(StaffUser, ids[0])
        mine = managed_donation(session, user, ids[2])
        together.wait()
        try:
            allocate_to_needs(session, user, mine, ids[1], Share(60_00, ""))
            session.commit()
            outcomes.append("allocated")
        except AboveBalance:
            session.rollback()
            outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for session in sessions:
        session.close()
    assert sorted(outcomes) == ["allocated", "refused"]
    with factory() as check:
        assert check.get_one(Donation, ids[2]).allocated_hundredths == 60_00
        assert check.scalar(select(func.count()).select_from(DonationAllocation)) == 1
