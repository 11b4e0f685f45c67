"""Decisions and circulars over HTTP: a focal point records its municipality's decisions, read
within the district and governorate and nowhere else; a qaimaqam's and a governor's decisions
are read by every level below them and no one else; ministries publish circulars that every
member of staff, and anyone on the public page, reads; refused input writes nothing."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.audit import AuditEvent
from core.decisions import MAX_TEXT, MAX_TITLE, Decision, DecisionKind
from core.roles import Role
from tests.support.factories import (
    AKKAR,
    HOME,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
    SAMPLE_CODES,
    load_sample_geography,
)
from tests.support.staff_web import csrf, signed_in_as

# Accounts, made when a test first signs in with one (each password hash takes a moment).
ACCOUNTS = {
    "focal": (Role.FOCAL_POINT, HOME),  # Chiyah, Baabda district (LB32), Mount Lebanon (LB3)
    "focal-next-door": (Role.FOCAL_POINT, SAME_DISTRICT),  # Furn Ech-Chebbak, also LB32
    "focal-meten": (Role.FOCAL_POINT, SAME_GOVERNORATE),  # Bourj Hammoud, El Meten (LB36), LB3
    "focal-akkar": (Role.FOCAL_POINT, AKKAR),  # Halba, Akkar district (LB51), Akkar (LB7)
    "mukhtar": (Role.MUKHTAR, HOME),
    "volunteer": (Role.VOLUNTEER, HOME),
    "qaimaqam": (Role.QAIMAQAM, "LB32"),
    "qaimaqam-akkar": (Role.QAIMAQAM, "LB51"),
    "qaimaqam-meten": (Role.QAIMAQAM, "LB36"),
    "governor": (Role.GOVERNOR, "LB3"),
    "governor-north": (Role.GOVERNOR, "LB5"),
    "ministry": (Role.MINISTRY, "LB"),
    "health": (Role.HEALTH_MINISTRY, "LB"),
    "inspector": (Role.INSPECTOR, "LB"),
    "agent": (Role.AGENT, "LB"),
    "committee": (Role.COMMITTEE, "LB"),
    "army": (Role.ARMY, "LB3"),
    "admin": (Role.ADMIN, "LB"),
}

DECISION = {
    "title": "Night curfew from 19:00 to 05:00",
    "text": "All shops close at 18:30.\r\nOnly pharmacies and bakeries stay open.",
    "category": "curfew",
    "effective_from": "2020-04-01",
    "effective_until": "2020-04-30",
}
CIRCULAR = {
    "title": "Distribution of food parcels through the municipalities",
    "text": "Municipalities list the families in need and coordinate with the army.",
    "category": "aid",
    "effective_from": "2020-04-10",
    "effective_until": "",
}


@pytest.fixture
def every_level(db: Session) -> None:
    """Municipalities in two districts of Mount Lebanon, one in Akkar, one in the North."""
    load_sample_geography(db, SAMPLE_CODES)
    db.commit()


def signed_in(client: FlaskClient, db: Session, username: str) -> FlaskClient:
    """Signed in as `username` (signing out whoever was), pages in English."""
    return signed_in_as(client, db, username, ACCOUNTS)


def post(client: FlaskClient, path: str, fields: dict[str, str]) -> TestResponse:
    return client.post(path, data={**fields, "csrf_token": csrf(client, "/console/decisions")})


def issued(
    client: FlaskClient, db: Session, username: str, path: str, fields: dict[str, str]
) -> int:
    """Record or publish as `username`; the new decision's id."""
    response = post(signed_in(client, db, username), path, fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/console/decisions/(\d+)\?done=", response.headers["Location"])
    assert match
    return int(match.group(1))


def decisions(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Decision)) or 0)


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- recording a municipal decision -------------------------------------------------------------


def test_a_focal_point_records_a_decision_of_its_municipality(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    decision_id = issued(client, db, "focal", "/console/decisions", DECISION)

    page = client.get(f"/console/decisions/{decision_id}?done=recorded").get_data(as_text=True)
    assert "The decision is recorded." in page
    assert "Night curfew from 19:00 to 05:00" in page
    assert "Municipality of Chiyah" in page
    assert "From Apr 1, 2020 to Apr 30, 2020" in page
    assert "All shops close at 18:30.\nOnly pharmacies" in page  # its paragraphs kept
    decision = db.get_one(Decision, decision_id)
    assert (decision.kind, decision.category, decision.issuer) == ("municipal", "curfew", "Chiyah")
    assert (decision.governorate_code, decision.district_code, decision.locality_code) == (
        "LB3",
        "LB32",
        HOME,
    )
    [event] = events(db, "decision.recorded")
    assert (event.actor, event.object_id) == ("focal", str(decision_id))
    assert '"locality":"21111"' in event.details


def test_the_municipality_reads_its_decision_in_arabic(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    decision_id = issued(client, db, "focal", "/console/decisions", DECISION)
    client.get("/language/ar")
    page = client.get(f"/console/decisions/{decision_id}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "شياح" in page


LONG = "x" * (MAX_TITLE + 1)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "This field is required."),
        ({"title": LONG}, "title", f"Use at most {MAX_TITLE} characters."),
        ({"title": "<script>alert(1)</script>"}, "title", "invisible or special characters"),
        ({"title": "Curfew\x00"}, "title", "invisible or special characters"),
        ({"text": ""}, "text", "This field is required."),
        ({"text": "y" * (MAX_TEXT + 1)}, "text", f"Use at most {MAX_TEXT} characters."),
        ({"text": "Close <img src=x onerror=alert(1)>"}, "text", "invisible or special"),
        ({"text": "bell\x07"}, "text", "invisible or special characters"),
        ({"category": "martial_law"}, "category", "Choose one of the options offered."),
        ({"effective_from": "2020-02-30"}, "effective_from", "Enter a date as YYYY-MM-DD"),
        ({"effective_from": ""}, "effective_from", "This field is required."),
        ({"effective_until": "next month"}, "effective_until", "Enter a date as YYYY-MM-DD"),
        (
            {"effective_until": "2020-03-31"},
            "effective_until",
            "The end date cannot be before the date it takes effect.",
        ),
    ],
)
def test_refused_input_writes_nothing_and_says_why(
    client: FlaskClient,
    db: Session,
    every_level: None,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = post(signed_in(client, db, "focal"), "/console/decisions", {**DECISION, **changes})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was recorded" in page
    error = re.search(rf'<p class="error" id="{field}-e">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert 'value="2020-04-01"' in page or field == "effective_from"  # the form comes back filled
    assert "<script>" not in page and "<img src=x" not in page  # echoed, escaped
    assert decisions(db) == 0
    assert events(db, "decision.recorded") == []


def test_a_decision_with_no_end_date_runs_until_revoked_and_arabic_digits_are_read(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    fields = {**DECISION, "effective_from": "٢٠٢٠-٠٤-٠١", "effective_until": ""}
    decision_id = issued(client, db, "focal", "/console/decisions", fields)
    decision = db.get_one(Decision, decision_id)
    assert (decision.effective_from.isoformat(), decision.effective_until) == ("2020-04-01", None)
    page = client.get(f"/console/decisions/{decision_id}").get_data(as_text=True)
    assert "From Apr 1, 2020, until revoked" in page


def test_without_the_csrf_token_nothing_is_recorded(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    response = signed_in(client, db, "focal").post("/console/decisions", data=DECISION)
    assert response.status_code == 400
    assert decisions(db) == 0


@pytest.mark.parametrize("username", ["mukhtar", "volunteer", "ministry", "army", "admin"])
def test_only_a_focal_point_qaimaqam_or_governor_records_a_decision(
    client: FlaskClient, db: Session, every_level: None, username: str
) -> None:
    response = post(signed_in(client, db, username), "/console/decisions", DECISION)
    assert response.status_code == 403
    assert decisions(db) == 0
    form = client.get("/console/decisions").get_data(as_text=True)
    assert 'id="record-form"' not in form


# --- who reads a municipal decision -----------------------------------------------------------


def test_the_municipality_its_district_governorate_and_ministries_read_it_and_no_one_else(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    decision_id = issued(client, db, "focal", "/console/decisions", DECISION)
    for reader in ("focal", "qaimaqam", "governor", "ministry", "health", "inspector"):
        listing = signed_in(client, db, reader).get("/console/decisions").get_data(as_text=True)
        assert f'data-decision="{decision_id}"' in listing, reader
        assert client.get(f"/console/decisions/{decision_id}").status_code == 200, reader
    # Another municipality of the same district, another district's qaimaqam, another
    # governorate; and roles without the reports permission, whatever their area.
    others = ("focal-next-door", "qaimaqam-akkar", "governor-north", "mukhtar", "agent", "army")
    for reader in (*others, "admin"):
        listing = signed_in(client, db, reader).get("/console/decisions").get_data(as_text=True)
        assert f'data-decision="{decision_id}"' not in listing, reader
        assert "Night curfew" not in listing, reader
        assert client.get(f"/console/decisions/{decision_id}").status_code == 404, reader


def test_a_municipal_decision_is_not_public(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    decision_id = issued(client, db, "focal", "/console/decisions", DECISION)
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    assert client.get(f"/circulars/{decision_id}").status_code == 404
    assert "Night curfew" not in client.get("/circulars").get_data(as_text=True)


def test_the_console_pages_need_a_sign_in(client: FlaskClient, every_level: None) -> None:
    for path in ("/console/decisions", "/console/decisions/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_missing_or_absurd_id_is_not_found(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    signed_in(client, db, "ministry")
    assert client.get("/console/decisions/999").status_code == 404
    assert client.get("/console/decisions/99999999999999").status_code == 404
    assert client.get("/circulars/99999999999999").status_code == 404


# --- circulars --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "issuer"),
    [("ministry", "Ministry of Social Affairs"), ("health", "Ministry of Public Health")],
)
def test_a_ministry_publishes_a_circular_to_everyone(
    client: FlaskClient, db: Session, every_level: None, username: str, issuer: str
) -> None:
    circular_id = issued(client, db, username, "/console/circulars", CIRCULAR)

    circular = db.get_one(Decision, circular_id)
    assert (circular.kind, circular.issuer) == (DecisionKind.CIRCULAR, issuer)
    assert (circular.governorate_code, circular.district_code, circular.locality_code) == (
        None,
        None,
        None,
    )
    page = client.get(f"/console/decisions/{circular_id}?done=published").get_data(as_text=True)
    assert "The circular is published." in page and issuer in page
    [event] = events(db, "circular.published")
    assert (event.actor, event.object_id) == (username, str(circular_id))


def test_every_member_of_staff_reads_the_circulars(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    circular_id = issued(client, db, "ministry", "/console/circulars", CIRCULAR)
    for reader in ACCOUNTS:
        listing = signed_in(client, db, reader).get("/console/decisions")
        assert listing.status_code == 200, reader
        assert f'data-decision="{circular_id}"' in listing.get_data(as_text=True), reader
        assert client.get(f"/console/decisions/{circular_id}").status_code == 200, reader


def test_the_public_reads_circulars_without_signing_in(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    circular_id = issued(client, db, "health", "/console/circulars", CIRCULAR)
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    client.get("/language/ar")

    listing = client.get("/circulars")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page  # the visitor's language, Arabic first
    assert f'href="/circulars/{circular_id}"' in page
    one = client.get(f"/circulars/{circular_id}").get_data(as_text=True)
    assert "Municipalities list the families in need" in one
    client.get("/language/fr")
    assert '<html lang="fr" dir="ltr">' in client.get("/circulars").get_data(as_text=True)


def test_only_ministries_publish_circulars(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    for username in ("focal", "qaimaqam", "inspector"):
        response = post(signed_in(client, db, username), "/console/circulars", CIRCULAR)
        assert response.status_code == 403
    assert decisions(db) == 0


def test_the_list_is_newest_first_and_filters_by_category(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    first = issued(client, db, "focal", "/console/decisions", DECISION)
    second = issued(client, db, "ministry", "/console/circulars", CIRCULAR)
    listing = signed_in(client, db, "qaimaqam").get("/console/decisions").get_data(as_text=True)
    assert re.findall(r'data-decision="(\d+)"', listing) == [str(second), str(first)]
    curfews = client.get("/console/decisions?category=curfew").get_data(as_text=True)
    assert re.findall(r'data-decision="(\d+)"', curfews) == [str(first)]
    unknown = client.get("/console/decisions?category=%3Cx%3E").get_data(as_text=True)
    assert len(re.findall(r'data-decision="(\d+)"', unknown)) == 2  # an unknown filter: all
    public = client.get("/circulars?category=curfew").get_data(as_text=True)
    assert 'id="no-decisions"' in public


# --- decisions of districts and governorates (circular §3.3) ---------------------------------


def readers_of(
    client: FlaskClient, db: Session, decision_id: int, usernames: tuple[str, ...]
) -> list[str]:
    """Which of `usernames` find the decision in their console's list and can open it."""
    found = []
    for reader in usernames:
        listing = signed_in(client, db, reader).get("/console/decisions").get_data(as_text=True)
        opens = client.get(f"/console/decisions/{decision_id}").status_code
        listed = f'data-decision="{decision_id}"' in listing
        assert listed == (opens == 200), reader  # the list and the page agree
        if listed:
            found.append(reader)
    return found


EVERYONE = (
    "focal",
    "focal-next-door",
    "focal-meten",
    "focal-akkar",
    "mukhtar",
    "qaimaqam",
    "qaimaqam-meten",
    "qaimaqam-akkar",
    "governor",
    "governor-north",
    "ministry",
    "inspector",
    "agent",
    "army",
    "admin",
)


def test_a_qaimaqam_records_a_decision_of_the_district(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    page = signed_in(client, db, "qaimaqam").get("/console/decisions").get_data(as_text=True)
    assert "Record a decision of your district" in page and 'id="record-reach"' in page

    decision_id = issued(client, db, "qaimaqam", "/console/decisions", DECISION)

    shown = client.get(f"/console/decisions/{decision_id}?done=recorded").get_data(as_text=True)
    assert "The decision is recorded." in shown
    assert re.search(r'id="issuer">Qaimaqam of Baabda<', shown)
    decision = db.get_one(Decision, decision_id)
    assert (decision.kind, decision.issuer) == (DecisionKind.DISTRICT, "Baabda")
    place = (decision.governorate_code, decision.district_code, decision.locality_code)
    assert place == ("LB3", "LB32", None)
    [event] = events(db, "decision.recorded")
    assert (event.actor, event.object_id) == ("qaimaqam", str(decision_id))
    assert '"district":"LB32"' in event.details and '"kind":"district"' in event.details


def test_a_district_decision_is_read_by_its_municipalities_and_not_by_another_district(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    decision_id = issued(client, db, "qaimaqam", "/console/decisions", DECISION)

    assert readers_of(client, db, decision_id, EVERYONE) == [
        "focal",
        "focal-next-door",
        "qaimaqam",
        "governor",
        "ministry",
        "inspector",
    ]
    listing = signed_in(client, db, "focal").get("/console/decisions").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*data-decision="{decision_id}".*?</tr>', listing, re.S)
    assert row and "Qaimaqam of Baabda" in row.group(0) and "District decision" in row.group(0)


def test_a_governor_decision_is_read_by_every_district_and_municipality_of_the_governorate(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    page = signed_in(client, db, "governor").get("/console/decisions").get_data(as_text=True)
    assert "Record a decision of your governorate" in page
    decision_id = issued(client, db, "governor", "/console/decisions", DECISION)
    decision = db.get_one(Decision, decision_id)
    assert (decision.kind, decision.issuer) == (DecisionKind.GOVERNORATE, "Mount Lebanon")
    place = (decision.governorate_code, decision.district_code, decision.locality_code)
    assert place == ("LB3", None, None)

    assert readers_of(client, db, decision_id, EVERYONE) == [
        "focal",
        "focal-next-door",
        "focal-meten",
        "qaimaqam",
        "qaimaqam-meten",
        "governor",
        "ministry",
        "inspector",
    ]
    shown = signed_in(client, db, "focal-meten").get(f"/console/decisions/{decision_id}")
    assert re.search(r'id="issuer">Governor of Mount Lebanon<', shown.get_data(as_text=True))
    client.get("/language/ar")
    arabic = client.get(f"/console/decisions/{decision_id}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "محافظ جبل لبنان" in arabic


def test_a_correction_is_a_new_decision_and_the_first_stays_on_record(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    first = issued(client, db, "qaimaqam", "/console/decisions", DECISION)
    fields = {**DECISION, "title": "Correction: night curfew from 20:00 to 05:00"}
    second = issued(client, db, "qaimaqam", "/console/decisions", fields)

    assert db.get_one(Decision, first).title == "Night curfew from 19:00 to 05:00"
    listing = signed_in(client, db, "focal").get("/console/decisions").get_data(as_text=True)
    assert re.findall(r'data-decision="(\d+)"', listing) == [str(second), str(first)]
    assert len(events(db, "decision.recorded")) == 2


def test_a_district_decision_is_not_public_and_a_refused_one_writes_nothing(
    client: FlaskClient, db: Session, every_level: None
) -> None:
    refused = post(
        signed_in(client, db, "governor"), "/console/decisions", {**DECISION, "title": ""}
    )
    assert refused.status_code == 400 and decisions(db) == 0
    decision_id = issued(client, db, "qaimaqam", "/console/decisions", DECISION)
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    assert client.get(f"/circulars/{decision_id}").status_code == 404
    assert "Night curfew" not in client.get("/circulars").get_data(as_text=True)
