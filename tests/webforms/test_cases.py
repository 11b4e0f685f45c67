"""COVID-19 case reports: what a case must carry, what each follow-up does to it, who reads
what of it (the contact details only within the municipality and at the health ministry),
the quarantine centres, and the console's pages over HTTP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.case_reading import (
    active_cases_by,
    case_counts,
    case_for,
    cases_visible_to,
    events_of,
    may_follow_up,
    shows_details,
)
from core.case_reports import record_event, report_case
from core.clock import beirut_today
from core.covid_cases import CaseClosed, CaseEvent, CaseReport, HealthInvalid, QuarantineCentre
from core.geography import AreaLevel
from core.quarantine_centres import add_centre, centre_for, centres_visible_to, update_centre
from core.references import is_valid
from core.roles import Permission, Role
from core.scopes import OutsideArea
from core.users import StaffUser
from tests.support.factories import (
    HOME,
    SAME_DISTRICT,
    audit_events,
    load_sample_geography,
    rows_of,
)
from tests.support.quick_accounts import account
from tests.support.staff_web import csrf, signed_in

TODAY = date(2020, 4, 20)
CASE = {
    "classification": "suspected",
    "resident_group": "displaced_syrian",
    "age_band": "20-39",
    "sex": "female",
    "isolation_place": "home",
    "reported_on": "2020-04-10",
    "contact_phone": "03 123 456",
    "notes": "Lives with her parents; call after 4 pm.",
}
CENTRE = {"name": "Chiyah public school", "capacity": "40", "occupancy": "12", "readiness": "ready"}


@dataclass
class World:
    focal: StaffUser  # Chiyah (21111), Baabda district LB32
    neighbour: StaffUser  # Furn Ech-Chebbak (21133), same district
    qaimaqam: StaffUser  # Baabda, LB32
    akkar_qaimaqam: StaffUser  # Akkar, LB51
    governor: StaffUser  # Mount Lebanon, LB3
    health: StaffUser  # Ministry of Public Health, national
    ministry: StaffUser  # Ministry of Social Affairs, national
    inspector: StaffUser
    centre: QuarantineCentre  # Chiyah's
    neighbour_centre: QuarantineCentre  # Furn Ech-Chebbak's


@pytest.fixture
def case_world(db: Session) -> World:
    load_sample_geography(db)
    focal = account(db, "focal", Role.FOCAL_POINT, HOME)
    neighbour = account(db, "neighbour", Role.FOCAL_POINT, SAME_DISTRICT)
    made = World(
        focal=focal,
        neighbour=neighbour,
        qaimaqam=account(db, "qaimaqam", Role.QAIMAQAM, "LB32"),
        akkar_qaimaqam=account(db, "akkar-qaimaqam", Role.QAIMAQAM, "LB51"),
        governor=account(db, "governor", Role.GOVERNOR, "LB3"),
        health=account(db, "health", Role.HEALTH_MINISTRY, "LB"),
        ministry=account(db, "ministry", Role.MINISTRY, "LB"),
        inspector=account(db, "inspector", Role.INSPECTOR, "LB"),
        centre=add_centre(db, focal, CENTRE),
        neighbour_centre=add_centre(db, neighbour, CENTRE | {"name": "Furn Ech-Chebbak club"}),
    )
    db.commit()
    return made


def report(db: Session, case_world: World, **changes: str) -> CaseReport:
    case = report_case(db, case_world.focal, CASE | changes, TODAY)
    db.commit()
    return case


def refusals(raised: pytest.ExceptionInfo[HealthInvalid]) -> dict[str, str]:
    return {e.field: e.code for e in raised.value.errors}


# --- reporting a case ------------------------------------------------------------------------


def test_a_case_takes_the_municipalitys_area_a_quotable_number_and_an_audit_event(
    db: Session, case_world: World
) -> None:
    case = report(db, case_world, reported_on="٢٠٢٠-٠٤-١٠")  # Arabic-Indic digits are digits
    assert len(case.number) == 9 and is_valid(case.number)
    assert (case.locality_code, case.district_code, case.governorate_code) == (HOME, "LB32", "LB3")
    assert (case.status, case.outcome, case.reported_on) == ("active", None, date(2020, 4, 10))
    assert case.contact_phone == "+9613123456" and case.reported_by_id == case_world.focal.id
    (event,) = audit_events(db, "case.reported")
    assert (event.actor, event.object_id) == ("focal", str(case.id))
    assert json.loads(event.details) == {"locality": HOME, "number": case.number}
    assert "3123456" not in event.details and "parents" not in event.details


def test_a_landline_is_a_contact_number_too_and_both_personal_fields_are_optional(
    db: Session, case_world: World
) -> None:
    assert report(db, case_world, contact_phone="01 234 567").contact_phone == "+9611234567"
    assert (
        report(db, case_world, notes="Line one.\r\n\r\n  Line   two.").notes
        == "Line one.\nLine two."
    )
    bare = report(db, case_world, contact_phone="", notes="  ")
    assert (bare.contact_phone, bare.notes) == (None, None)


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        (
            {"classification": "", "sex": "", "age_band": ""},
            {"classification": "required", "sex": "required", "age_band": "required"},
        ),
        ({"classification": "<script>alert(1)</script>"}, {"classification": "invalid_choice"}),
        ({"resident_group": "x" * 100_000}, {"resident_group": "invalid_choice"}),
        ({"isolation_place": "car"}, {"isolation_place": "invalid_choice"}),
        ({"reported_on": "2020-04-21"}, {"reported_on": "day_in_future"}),
        ({"reported_on": "2020-02-20"}, {"reported_on": "day_too_early"}),
        ({"reported_on": "2020-02-30"}, {"reported_on": "invalid_date"}),
        ({"reported_on": "10/04/2020"}, {"reported_on": "invalid_date"}),
        ({"reported_on": ""}, {"reported_on": "required"}),
        ({"contact_phone": "call me"}, {"contact_phone": "phone_invalid"}),
        ({"contact_phone": "+33 6 12 34 56 78"}, {"contact_phone": "phone_foreign"}),
        ({"contact_phone": "0" * 5000}, {"contact_phone": "phone_invalid"}),
        ({"notes": "<img src=x onerror=alert(1)>"}, {"notes": "invalid_characters"}),
        ({"notes": "call\x00me"}, {"notes": "invalid_characters"}),
        ({"notes": "a" * 1001}, {"notes": "too_long"}),
        ({"isolation_place": "quarantine_centre"}, {"centre": "centre_required"}),
        (
            {"isolation_place": "quarantine_centre", "centre": "9" * 40},
            {"centre": "not_own_centre"},
        ),
    ],
)
def test_a_refused_case_names_each_field_and_writes_nothing(
    db: Session, case_world: World, changes: dict[str, str], refused: dict[str, str]
) -> None:
    with pytest.raises(HealthInvalid) as raised:
        report_case(db, case_world.focal, CASE | changes, TODAY)
    assert refusals(raised) == refused
    db.rollback()
    assert rows_of(db, CaseReport) == 0 and audit_events(db, "case.reported") == []


def test_a_case_is_isolated_only_in_a_centre_of_its_own_municipality(
    db: Session, case_world: World
) -> None:
    in_centre = {"isolation_place": "quarantine_centre"}
    case = report(db, case_world, **in_centre, centre=str(case_world.centre.id))
    assert case.centre_id == case_world.centre.id
    with pytest.raises(HealthInvalid) as raised:
        report_case(
            db, case_world.focal, CASE | in_centre | {"centre": str(case_world.neighbour_centre.id)}
        )
    assert refusals(raised) == {"centre": "not_own_centre"}
    at_home = report(
        db, case_world, centre=str(case_world.neighbour_centre.id)
    )  # ignored, not stored
    assert at_home.centre_id is None


def test_only_a_municipalitys_reporter_reports_a_case(db: Session, case_world: World) -> None:
    for user in (case_world.qaimaqam, case_world.health, case_world.ministry):
        with pytest.raises(OutsideArea):
            report_case(db, user, CASE, TODAY)


def test_case_numbers_are_unique(db: Session, case_world: World) -> None:
    numbers = {report(db, case_world).number for _ in range(30)}
    assert len(numbers) == 30


# --- following a case up ---------------------------------------------------------------------


def follow(db: Session, case_world: World, case: CaseReport, **form: str) -> CaseEvent:
    event = record_event(db, case, case_world.focal, {"occurred_on": "2020-04-15", **form}, TODAY)
    db.commit()
    return event


@pytest.mark.parametrize(
    ("classification", "form", "status", "outcome", "after"),
    [
        ("suspected", {"kind": "tested"}, "active", None, "suspected"),
        ("suspected", {"kind": "result", "result": "positive"}, "active", None, "confirmed"),
        ("suspected", {"kind": "result", "result": "negative"}, "closed", "ruled_out", "suspected"),
        ("confirmed", {"kind": "result", "result": "negative"}, "active", None, "confirmed"),
        ("confirmed", {"kind": "isolation_ended"}, "closed", "isolation_ended", "confirmed"),
        ("confirmed", {"kind": "recovered"}, "closed", "recovered", "confirmed"),
        ("suspected", {"kind": "died"}, "closed", "died", "suspected"),
    ],
)
def test_each_follow_up_does_what_the_transition_table_says(
    db: Session,
    case_world: World,
    classification: str,
    form: dict[str, str],
    status: str,
    outcome: str | None,
    after: str,
) -> None:
    case = report(db, case_world, classification=classification)
    event = follow(db, case_world, case, **form)
    db.expire_all()
    assert (case.status, case.outcome, case.classification) == (status, outcome, after)
    assert (case.closed_at is not None) == (status == "closed")
    assert (event.kind, event.result, event.recorded_by_id) == (
        form["kind"],
        form.get("result"),
        case_world.focal.id,
    )
    (audit_event,) = audit_events(db, "case.followed_up")
    assert json.loads(audit_event.details) == {
        "event": form["kind"],
        "number": case.number,
        "outcome": outcome or "",
        "status": status,
    }


def test_a_transfer_moves_the_case_and_its_centre(db: Session, case_world: World) -> None:
    case = report(db, case_world)
    to_centre = {"kind": "transferred", "isolation_place": "quarantine_centre"}
    follow(db, case_world, case, **to_centre, centre=str(case_world.centre.id))
    assert (case.isolation_place, case.centre_id) == ("quarantine_centre", case_world.centre.id)
    with pytest.raises(HealthInvalid) as raised:
        follow(db, case_world, case, **to_centre, centre=str(case_world.centre.id))
    assert refusals(raised) == {"isolation_place": "same_place"}
    with pytest.raises(HealthInvalid) as raised:
        follow(db, case_world, case, **to_centre, centre=str(case_world.neighbour_centre.id))
    assert refusals(raised) == {"centre": "not_own_centre"}
    db.rollback()
    follow(db, case_world, case, kind="transferred", isolation_place="hospital")
    assert (case.isolation_place, case.centre_id, case.status) == ("hospital", None, "active")
    assert [line.centre_name for line in events_of(db, case)] == ["Chiyah public school", None]


@pytest.mark.parametrize(
    ("form", "refused"),
    [
        ({"kind": "result"}, {"result": "required"}),
        ({"kind": "result", "result": "maybe"}, {"result": "invalid_choice"}),
        ({"kind": "transferred"}, {"isolation_place": "required"}),
        ({"kind": "cured"}, {"kind": "invalid_choice"}),
        ({"kind": "tested", "occurred_on": "2020-04-09"}, {"occurred_on": "before_reported"}),
        ({"kind": "tested", "occurred_on": "2020-04-21"}, {"occurred_on": "day_in_future"}),
        ({"kind": "tested", "occurred_on": "<b>"}, {"occurred_on": "invalid_date"}),
    ],
)
def test_a_refused_follow_up_names_each_field_and_changes_nothing(
    db: Session, case_world: World, form: dict[str, str], refused: dict[str, str]
) -> None:
    case = report(db, case_world)
    with pytest.raises(HealthInvalid) as raised:
        follow(db, case_world, case, **form)
    assert refusals(raised) == refused
    db.rollback()
    assert rows_of(db, CaseEvent) == 0 and case.status == "active"


def test_a_closed_case_takes_no_further_follow_up(db: Session, case_world: World) -> None:
    case = report(db, case_world)
    follow(db, case_world, case, kind="recovered")
    assert not may_follow_up(case_world.focal, case)
    with pytest.raises(CaseClosed):
        follow(db, case_world, case, kind="died")
    db.rollback()
    assert (case.outcome, rows_of(db, CaseEvent)) == ("recovered", 1)


def test_only_the_cases_own_municipality_follows_it_up(db: Session, case_world: World) -> None:
    case = report(db, case_world)
    assert may_follow_up(case_world.focal, case)
    for user in (case_world.neighbour, case_world.qaimaqam, case_world.health):
        assert not may_follow_up(user, case)
        with pytest.raises(OutsideArea):
            record_event(db, case, user, {"kind": "tested", "occurred_on": "2020-04-15"}, TODAY)


# --- who reads what ---------------------------------------------------------------------------


def test_each_role_reads_the_cases_of_its_area_and_the_details_only_where_allowed(
    db: Session, case_world: World
) -> None:
    case = report(db, case_world)
    reads = {
        "focal": (True, True),
        "neighbour": (False, False),  # another municipality of the same district
        "qaimaqam": (True, False),
        "akkar_qaimaqam": (False, False),
        "governor": (True, False),
        "health": (True, True),
        "ministry": (True, False),  # social affairs: the counts, not the person
        "inspector": (True, False),
    }
    for name, (sees, details) in reads.items():
        viewer = getattr(case_world, name)
        listed = [line.case.id for line in cases_visible_to(db, viewer)]
        assert (listed == [case.id], case_for(db, viewer, case.id) is not None) == (sees, sees), (
            name
        )
        assert shows_details(viewer, case) is details, name


def test_the_list_is_newest_first_and_filters_by_status(db: Session, case_world: World) -> None:
    first, second = report(db, case_world), report(db, case_world)
    follow(db, case_world, first, kind="recovered")
    assert [line.case.id for line in cases_visible_to(db, case_world.focal)] == [
        second.id,
        first.id,
    ]
    closed = cases_visible_to(db, case_world.focal, status="closed")
    assert [line.case.id for line in closed] == [first.id]
    line = cases_visible_to(db, case_world.focal, limit=1)[0]
    assert (line.locality_en, line.centre_name) == ("Chiyah", None)


def test_counts_of_an_area(db: Session, case_world: World) -> None:
    report(db, case_world, classification="confirmed")
    report(db, case_world)
    follow(db, case_world, report(db, case_world), kind="died")
    neighbours = report_case(db, case_world.neighbour, CASE, TODAY)
    db.commit()
    counts = case_counts(db, case_world.qaimaqam)
    assert (counts.active_total, counts.active["confirmed"], counts.active["suspected"]) == (
        3,
        1,
        2,
    )
    assert counts.closed == {"died": 1}
    assert case_counts(db, case_world.focal).active_total == 2
    assert case_counts(db, case_world.akkar_qaimaqam).active_total == 0
    assert active_cases_by(db, case_world.governor, AreaLevel.LOCALITY) == {
        HOME: 2,
        SAME_DISTRICT: 1,
    }
    assert active_cases_by(db, case_world.health, AreaLevel.DISTRICT) == {"LB32": 3}
    assert neighbours.locality_code == SAME_DISTRICT


# --- quarantine centres -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"occupancy": "41"}, {"occupancy": "over_capacity"}),
        ({"capacity": "0"}, {"capacity": "out_of_range"}),
        (
            {"capacity": "1" * 400, "occupancy": "-1"},
            {"capacity": "out_of_range", "occupancy": "out_of_range"},
        ),
        ({"capacity": "forty"}, {"capacity": "not_a_number"}),
        ({"name": "<b>Centre</b>"}, {"name": "invalid_characters"}),
        ({"name": "c" * 121}, {"name": "too_long"}),
        ({"name": " "}, {"name": "required"}),
        ({"readiness": "soon"}, {"readiness": "invalid_choice"}),
        ({"name": "Chiyah public school"}, {"name": "duplicate_name"}),
    ],
)
def test_a_refused_centre_names_each_field_and_writes_nothing(
    db: Session, case_world: World, changes: dict[str, str], refused: dict[str, str]
) -> None:
    form = CENTRE | {"name": "Chiyah sports hall"} | changes
    with pytest.raises(HealthInvalid) as raised:
        add_centre(db, case_world.focal, form)
    assert refusals(raised) == refused
    db.rollback()
    assert rows_of(db, QuarantineCentre) == 2


def test_a_centre_is_updated_by_its_own_municipality_only(db: Session, case_world: World) -> None:
    figures = {"capacity": "50", "occupancy": "50", "readiness": "not_ready"}
    update_centre(db, case_world.focal, case_world.centre, figures)
    db.commit()
    assert (
        case_world.centre.capacity,
        case_world.centre.occupancy,
        case_world.centre.readiness,
    ) == (
        50,
        50,
        "not_ready",
    )
    (event,) = audit_events(db, "centre.updated")
    assert json.loads(event.details) == {
        "capacity": 50,
        "locality": HOME,
        "occupancy": 50,
        "readiness": "not_ready",
    }
    with pytest.raises(OutsideArea):
        update_centre(db, case_world.neighbour, case_world.centre, figures)
    with pytest.raises(HealthInvalid):
        update_centre(db, case_world.focal, case_world.centre, figures | {"capacity": "49"})
    assert (
        centre_for(db, case_world.neighbour, case_world.centre.id, Permission.REPORT_CASES) is None
    )
    with pytest.raises(OutsideArea):
        add_centre(db, case_world.qaimaqam, CENTRE)


def test_centres_of_an_area_with_the_active_cases_placed_in_them(
    db: Session, case_world: World
) -> None:
    report(db, case_world, isolation_place="quarantine_centre", centre=str(case_world.centre.id))
    lines = centres_visible_to(db, case_world.qaimaqam)
    assert [(line.centre.name, line.active_cases) for line in lines] == [
        ("Chiyah public school", 1),
        ("Furn Ech-Chebbak club", 0),
    ]
    assert [line.centre.id for line in centres_visible_to(db, case_world.focal)] == [
        case_world.centre.id
    ]
    assert centres_visible_to(db, case_world.akkar_qaimaqam) == []
    assert len(audit_events(db, "centre.added")) == 2


# --- the console's pages -----------------------------------------------------------------------


def post(client: FlaskClient, path: str, data: dict[str, str]) -> tuple[int, str, str]:
    response = client.post(path, data=data | {"csrf_token": csrf(client, "/console/cases")})
    return response.status_code, response.headers.get("Location", ""), response.get_data(True)


def test_a_focal_point_reports_a_case_from_its_console(
    client: FlaskClient, db: Session, case_world: World
) -> None:
    page = signed_in(client, "focal").get("/console/cases").get_data(as_text=True)
    assert 'id="report-case"' in page and 'id="no-case"' in page
    form = client.get("/console/cases/new").get_data(as_text=True)
    assert "Chiyah public school" in form and "Furn Ech-Chebbak club" not in form
    status, location, _body = post(client, "/console/cases/new", CASE)
    (case,) = db.scalars(select(CaseReport))
    assert (status, location) == (302, f"/console/cases/{case.id}?reported=1")
    detail = client.get(location).get_data(as_text=True)
    assert f"Its number is {case.number}" in detail
    assert "+9613123456" in detail and "Lives with her parents" in detail
    assert 'id="event-form"' in detail
    listed = client.get("/console/cases").get_data(as_text=True)
    assert f'data-number="{case.number}"' in listed and "Displaced Syrian" in listed
    assert audit_events(db, "case.viewed")[0].actor == "focal"


def test_a_hostile_or_wrong_case_answers_400_refilled_and_writes_nothing(
    client: FlaskClient, db: Session, case_world: World
) -> None:
    signed_in(client, "focal")
    hostile = CASE | {
        "notes": '"><script>alert(1)</script>',
        "reported_on": "2999-01-01",
        "isolation_place": "quarantine_centre",
        "centre": str(case_world.neighbour_centre.id),
    }
    status, _location, body = post(client, "/console/cases/new", hostile)
    assert status == 400
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body  # refilled, inert
    assert "This day is after today: check the date." in body
    assert "Choose one of your municipality&#39;s quarantine centres." in body
    assert "invisible or special characters" in body
    assert 'value="2999-01-01"' in body
    assert rows_of(db, CaseReport) == 0 and audit_events(db, "case.reported") == []
    status, _location, _body = post(client, "/console/cases/new", CASE | {"notes": "n" * 20_000})
    assert status == 400 and rows_of(db, CaseReport) == 0
    no_token = client.post("/console/cases/new", data=CASE)
    assert no_token.status_code == 400 and rows_of(db, CaseReport) == 0


def test_follow_ups_in_the_console_until_the_case_is_closed(
    client: FlaskClient, db: Session, case_world: World
) -> None:
    case = report(db, case_world)
    path = f"/console/cases/{case.id}/events"
    signed_in(client, "focal")
    day = beirut_today().isoformat()
    status, location, _ = post(
        client, path, {"kind": "result", "result": "positive", "occurred_on": day}
    )
    assert (status, location) == (302, f"/console/cases/{case.id}?recorded=1")
    status, _, body = post(client, path, {"kind": "result", "occurred_on": day})
    assert status == 400 and "This field is required." in body
    status, _, _ = post(client, path, {"kind": "recovered", "occurred_on": day})
    page = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert 'data-status="closed" data-outcome="recovered"' in page
    assert 'data-value="confirmed"' in page and 'id="event-form"' not in page
    assert page.count('class="event-row"') == 2
    status, _, body = post(client, path, {"kind": "died", "occurred_on": day})
    assert status == 409 and "This case is closed: it takes no further follow-up." in body
    assert rows_of(db, CaseEvent) == 2
    signed_in(client, "qaimaqam")
    assert post(client, path, {"kind": "tested", "occurred_on": day})[0] == 403


def test_each_reader_sees_the_case_and_its_details_only_where_allowed(
    client: FlaskClient, db: Session, case_world: World
) -> None:
    case = report(db, case_world)
    path = f"/console/cases/{case.id}"
    for username, status, phone in [
        ("neighbour", 404, False),
        ("akkar-qaimaqam", 404, False),
        ("qaimaqam", 200, False),
        ("ministry", 200, False),
        ("health", 200, True),
    ]:
        response = signed_in(client, username).get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == status, username
        assert ("+9613123456" in body, "parents" in body) == (phone, phone), username
        listed = client.get("/console/cases").get_data(as_text=True)
        assert (f'data-number="{case.number}"' in listed) == (status == 200), username
        if status == 200:
            assert ('id="event-form"' in body, 'id="report-case"' in listed) == (False, False)
    assert [e.actor for e in audit_events(db, "case.viewed")] == ["health"]
    assert signed_in(client, "qaimaqam").get("/console/cases/new").status_code == 403
    assert client.get(f"/console/cases/{2**31}").status_code == 404
    assert client.get("/console/cases/99999999999999999999").status_code == 404


def test_quarantine_centres_in_the_console(
    client: FlaskClient, db: Session, case_world: World
) -> None:
    page = signed_in(client, "focal").get("/console/centres").get_data(as_text=True)
    assert re.findall(r'data-centre="(\d+)"', page) == [str(case_world.centre.id)]
    assert 'id="centre-new"' in page
    status, location, _ = post(client, "/console/centres", CENTRE | {"name": "Chiyah hall"})
    assert (status, location) == (302, "/console/centres?saved=1")
    status, _, body = post(client, "/console/centres", CENTRE | {"name": "x", "occupancy": "99"})
    assert status == 400 and "More people than beds: at most 40." in body
    assert rows_of(db, QuarantineCentre) == 3
    own = f"/console/centres/{case_world.centre.id}"
    assert 'value="40"' in client.get(own).get_data(as_text=True)
    figures = {"capacity": "60", "occupancy": "61", "readiness": "preparing"}
    status, _, body = post(client, own, figures)
    assert status == 400 and 'value="61"' in body
    assert post(client, own, figures | {"occupancy": "60"})[0] == 302
    assert post(client, f"/console/centres/{case_world.neighbour_centre.id}", figures)[0] == 404
    signed_in(client, "qaimaqam")
    page = client.get("/console/centres").get_data(as_text=True)
    assert len(re.findall(r'class="centre-row"', page)) == 3
    assert 'id="centre-new"' not in page and "update-link" not in page
    assert post(client, "/console/centres", CENTRE)[0] == 403
    db.expire_all()
    assert (case_world.centre.capacity, case_world.centre.occupancy) == (60, 60)


def test_refusal_messages_exist_for_every_problem() -> None:
    from core.covid_cases import HealthProblem
    from texts.cases import PROBLEMS

    assert set(PROBLEMS) == set(HealthProblem)
