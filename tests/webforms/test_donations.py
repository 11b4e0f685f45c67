"""The donations page over HTTP: a focal point records and allocates, refused input writes
nothing and says why beside the field, each reader sees its own area's donations, balances and
allocations (a private donor's name only where the donation is managed), and the dashboard
carries the balances."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.audit import AuditEvent
from core.db import utcnow
from core.donations import Donation, DonationAllocation
from core.needs import NeedsFigures, NeedsReport, file_needs
from core.roles import Role
from distribution.handovers import issue_vouchers
from distribution.revocation_list import RevocationReason
from distribution.revocations import revoke_voucher
from tests.plugins.handover_world import World as HandoverWorld
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import HOME, SAME_DISTRICT, load_sample_geography
from tests.support.quick_accounts import account
from tests.support.staff_web import csrf, signed_in

RICE = {
    "kind": "in_kind",
    "donor_kind": "person",
    "donor_name": "Rima Haddad",
    "what": "Rice",
    "unit": "kg",
    "quantity": "1,200.5",
    "received_on": "2020-04-10",
}


@pytest.fixture
def donation_accounts(db: Session) -> NeedsReport:
    """Chiyah's and Furn Ech-Chebbak's focal points, their qaimaqam, a mukhtar, the ministry;
    Chiyah's needs report for this week (what a donation is allocated to)."""
    load_sample_geography(db)
    focal = account(db, "focal", Role.FOCAL_POINT, HOME)
    account(db, "neighbour", Role.FOCAL_POINT, SAME_DISTRICT)
    account(db, "qaimaqam", Role.QAIMAQAM, "LB32")
    account(db, "mukhtar", Role.MUKHTAR, HOME)
    account(db, "ministry", Role.MINISTRY, "LB")
    report = file_needs(db, focal, NeedsFigures(40, 5, "", ""), utcnow())
    db.commit()
    return report


def post(client: FlaskClient, path: str, **fields: str) -> TestResponse:
    token = csrf(client, "/console/donations")
    return client.post(path, data={**fields, "csrf_token": token})


def count(db: Session, model: type[object]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def error(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-e">([^<]*)</p>', page)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


def only_donation(db: Session) -> Donation:
    db.expire_all()
    return db.scalars(select(Donation)).one()


def test_a_focal_point_records_a_donation_and_sees_it_in_its_balances(
    client: FlaskClient, db: Session, donation_accounts: NeedsReport
) -> None:
    home = signed_in(client, "focal").get("/console").get_data(as_text=True)
    assert 'id="donations-link"' in home
    done = post(client, "/console/donations", **RICE)
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "The donation is recorded." in page
    assert re.search(r'data-area="21111" data-what="Rice">\s*<th scope="row">Chiyah', page)
    assert "1,200.5" in page and "Rice (kg)" in page and "Rima Haddad" in page
    donation = only_donation(db)
    assert (donation.hundredths, donation.locality_code, donation.donor_kind) == (
        120_050,
        HOME,
        "person",
    )
    db.expire_all()
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "donation.recorded"))
    assert "Rima" not in str(event.details)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quantity": "-5"}, "quantity", "Enter an amount above 0 and at most 10,000,000."),
        ({"quantity": "9" * 5000}, "quantity", "Enter an amount above 0 and at most"),
        ({"quantity": "lots"}, "quantity", "Enter an amount in digits, with at most two"),
        ({"kind": "cash", "currency": "EUR"}, "currency", "Choose one of the options offered."),
        (
            {"kind": "cash", "currency": "LBP", "quantity": "2000000000000"},
            "quantity",
            "at most 1,000,000,000,000.",
        ),
        ({"what": "r" * 201}, "what", "Use at most 200 characters."),
        ({"donor_name": "<script>"}, "donor_name", "special characters"),
        ({"donor_name": ""}, "donor_name", "This field is required."),
        ({"received_on": "2999-01-01"}, "received_on", "the date cannot be after today."),
        ({"received_on": "2020-02-30"}, "received_on", "Enter a date as YYYY-MM-DD"),
    ],
)
def test_a_refused_donation_writes_nothing_and_says_why(
    client: FlaskClient,
    db: Session,
    donation_accounts: NeedsReport,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    refused = post(signed_in(client, "focal"), "/console/donations", **{**RICE, **fields})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Nothing was recorded" in page and message in error(page, field)
    assert "<script>" not in page
    assert count(db, Donation) == 0


def test_allocations_to_needs_stop_at_what_is_left(
    client: FlaskClient, db: Session, donation_accounts: NeedsReport
) -> None:
    post(signed_in(client, "focal"), "/console/donations", **{**RICE, "quantity": "100"})
    donation = only_donation(db)
    give = {"donation": str(donation.id), "target": "needs", "report": str(donation_accounts.id)}
    done = post(client, "/console/donations/allocate", **give, quantity="60", note="first week")
    assert done.status_code == 302
    refused = post(client, "/console/donations/allocate", **give, quantity="40.5")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Nothing was allocated" in page
    assert error(page, "allocate-quantity") == (
        "Only 40 is left of this donation: nothing was allocated."
    )
    assert count(db, DonationAllocation) == 1 and only_donation(db).allocated_hundredths == 60_00
    page = client.get("/console/donations").get_data(as_text=True)
    assert re.search(r'class="n balance-remaining">40<', page)
    assert "Needs of Chiyah, week of" in page and "first week" in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"donation": "999999"}, "donation", "Choose one of your area's donations."),
        ({"donation": "x" * 300}, "donation", "Choose one of your area's donations."),
        ({"report": "0"}, "report", "Choose one of the needs reports offered."),
        ({"target": "family", "voucher": "123"}, "voucher", "No voucher of a family"),
        ({"target": "cousin"}, "target", "Choose what the donation is given to."),
        ({"quantity": "-1"}, "allocate-quantity", "Enter an amount above 0"),
        ({"note": "n" * 301}, "note", "Use at most 300 characters."),
    ],
)
def test_a_refused_allocation_writes_nothing(
    client: FlaskClient,
    db: Session,
    donation_accounts: NeedsReport,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    post(signed_in(client, "focal"), "/console/donations", **RICE)
    donation = only_donation(db)
    give = {"donation": str(donation.id), "target": "needs", "report": str(donation_accounts.id)}
    refused = post(client, "/console/donations/allocate", **{**give, "quantity": "5", **fields})
    assert refused.status_code == 400
    assert message in error(refused.get_data(as_text=True), field)
    assert count(db, DonationAllocation) == 0 and only_donation(db).allocated_hundredths == 0


def test_each_reader_sees_its_own_area_and_only_recorders_write(
    client: FlaskClient, db: Session, donation_accounts: NeedsReport
) -> None:
    post(signed_in(client, "focal"), "/console/donations", **RICE)
    donation = only_donation(db)

    neighbour = signed_in(client, "neighbour").get("/console/donations").get_data(as_text=True)
    assert 'class="donation-row"' not in neighbour and 'id="no-balances"' in neighbour
    give = {"donation": str(donation.id), "target": "needs", "report": str(donation_accounts.id)}
    taken = post(client, "/console/donations/allocate", **give, quantity="1")
    assert taken.status_code == 400 and count(db, DonationAllocation) == 0

    qaimaqam = signed_in(client, "qaimaqam").get("/console/donations").get_data(as_text=True)
    assert f'data-donation="{donation.id}"' in qaimaqam and 'id="record-form"' not in qaimaqam
    assert "Rima Haddad" not in qaimaqam and "A private person" in qaimaqam
    assert post(client, "/console/donations", **RICE).status_code == 403
    assert signed_in(client, "mukhtar").get("/console/donations").status_code == 403
    assert count(db, Donation) == 1


def test_the_ministry_gives_a_national_donation_to_a_family_by_its_voucher(
    client: FlaskClient, db: Session, handover_world: HandoverWorld
) -> None:
    account(db, "ministry-2", Role.MINISTRY, "LB")
    account(db, "focal-2", Role.FOCAL_POINT, HOME)
    voucher = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY)[0]
    db.commit()
    cash = {**RICE, "kind": "cash", "currency": "USD", "donor_kind": "anonymous"}
    post(signed_in(client, "ministry-2"), "/console/donations", **{**cash, "quantity": "500"})
    donation = only_donation(db)
    assert donation.locality_code is None and donation.donor_name is None
    given = post(
        client,
        "/console/donations/allocate",
        donation=str(donation.id),
        target="family",
        voucher=voucher.code,
        quantity="120.25",
    )
    assert given.status_code == 302
    revoked = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY)[1]
    revoke_voucher(db, revoked, RevocationReason.CORRECTION_INELIGIBLE, "committee-a")
    db.commit()
    refused = post(
        client,
        "/console/donations/allocate",
        donation=str(donation.id),
        target="family",
        voucher=revoked.code,
        quantity="1",
    )
    assert refused.status_code == 400
    assert "This voucher was revoked" in error(refused.get_data(as_text=True), "voucher")
    assert count(db, DonationAllocation) == 1
    town = signed_in(client, "focal-2").get("/console/donations").get_data(as_text=True)
    assert f"The family of voucher {voucher.code} (Chiyah)" in town  # the ministry's gift
    assert f'data-donation="{donation.id}"' not in town  # its donation is national


def test_the_dashboard_shows_the_areas_donation_balances(
    client: FlaskClient, db: Session, donation_accounts: NeedsReport
) -> None:
    post(signed_in(client, "focal"), "/console/donations", **RICE)
    board = signed_in(client, "qaimaqam").get("/console/dashboard").get_data(as_text=True)
    assert 'id="donation-balances"' in board
    assert re.search(r'data-area="21111" data-what="Rice">\s*<th scope="row">Chiyah', board)


def test_the_page_speaks_arabic(
    client: FlaskClient, db: Session, donation_accounts: NeedsReport
) -> None:
    signed_in(client, "focal").get("/language/ar")
    page = client.get("/console/donations").get_data(as_text=True)
    assert "تسجيل تبرع" in page and "Record a donation" not in page
