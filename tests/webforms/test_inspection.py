"""Central inspection (/inspection): every governorate, read-only, each record beside its trail,
every look at a family's record and every export audited, CSV files safe to open in Excel."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import audit
from core.applications import Application
from core.audit import AuditEvent
from core.calls import Call
from core.clock import beirut_today
from core.correction_changes import Change
from core.db import utcnow
from core.inspection import PAGE_SIZE, Filters, Kind, list_page, trail_of
from core.messages import Direction, Message, MessageStatus
from core.programme import set_window
from core.references import grouped
from core.roles import Role
from core.tickets import Ticket, TicketCategory, open_ticket
from core.users import StaffUser
from scoring import jobs
from tests.support.audit_owner import as_table_owner
from tests.support.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    NORTH,
    approved_correction,
    area,
    load_sample_geography,
    make_user,
)
from tests.support.households import submitted
from tests.support.staff_web import csrf, sign_in
from webforms.csv_export import cell

PLACES = (HOME, ELSEWHERE, AKKAR, NORTH)  # Mount Lebanon, Beirut, Akkar, North
RULES = {"today": beirut_today()}


@pytest.fixture
def country(db: Session) -> dict[str, Application]:
    """One family's application in each of four governorates, and an inspector."""
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    make_user(db, Role.INSPECTOR, "LB", username="inspector")
    made = {}
    for n, code in enumerate(PLACES, start=1):
        application = submitted(db, n, phone=f"+96131{n:05d}")
        application.place_in(area(db, code))
        made[code] = application
    db.commit()
    return made


@pytest.fixture
def inspector(client: FlaskClient, country: dict[str, Application]) -> FlaskClient:
    sign_in(client, "inspector")
    return client


def events(db: Session, action: str, object_id: str = "") -> list[AuditEvent]:
    db.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    return list(db.scalars(stmt))


def corrected(db: Session, application: Application) -> Ticket:
    """An agent logs a correction of the first member's ID number; the committee approves."""
    change = Change("members-0-id_number", "300000001", "a typing error", "ID card seen")
    return approved_correction(db, application, change)


def rows_of(csv_text: str) -> list[list[str]]:
    assert csv_text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"))))


def export(client: FlaskClient, path: str) -> TestResponse:
    """Press a list's download button: a POST with the page's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client, "/inspection")})


# --- who may look ----------------------------------------------------------------------------


def test_an_inspector_sees_the_applications_of_every_governorate(
    inspector: FlaskClient, country: dict[str, Application]
) -> None:
    html = inspector.get("/inspection/applications").get_data(as_text=True)
    assert html.count('class="application-row"') == len(PLACES)
    for application in country.values():
        assert grouped(application.reference) in html
        assert application.phone not in html  # masked: +96131•••001
    assert "+9613•••001" in html


@pytest.mark.parametrize(
    ("role", "area_code"),
    [
        (Role.AGENT, "LB"),
        (Role.FOCAL_POINT, HOME),
        (Role.QAIMAQAM, "LB32"),
        (Role.GOVERNOR, "LB3"),
        (Role.MINISTRY, "LB"),
        (Role.ADMIN, "LB"),
    ],
)
@pytest.mark.parametrize("path", ["/inspection", "/inspection/audit", "/inspection/users.csv"])
def test_other_roles_are_refused(
    client: FlaskClient,
    db: Session,
    country: dict[str, Application],
    role: Role,
    area_code: str,
    path: str,
) -> None:
    make_user(db, role, area_code, username="someone")
    db.commit()
    sign_in(client, "someone")
    assert client.get(path).status_code == 403
    assert events(db, "export.users") == []


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/inspection/applications")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


# --- one record beside its trail -----------------------------------------------------------


def test_an_application_shows_its_earlier_version_its_complaint_and_its_trail(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    application = country[AKKAR]
    ticket = corrected(db, application)
    html = inspector.get(f"/inspection/applications/{application.id}").get_data(as_text=True)
    assert "300000001" in html  # the member's ID now
    assert 'data-version="1"' in html and "200000003" in html  # and in version 1, kept
    assert ticket.number in html
    for action in ("correction.logged", "correction.approved", "application.viewed"):
        assert f'data-action="{action}"' in html
    assert application.phone not in html


def test_an_application_shows_its_score_and_what_weighed_most(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    application = country[NORTH]
    path = f"/inspection/applications/{application.id}"
    assert 'class="score"' not in inspector.get(path).get_data(as_text=True)
    jobs.score_application(application.id)
    html = inspector.get(path).get_data(as_text=True)
    section = html[html.index('id="score"') : html.index('id="current"')]
    assert 'class="score"' in section and section.count("<li>") == 5
    assert f"{jobs.formula().version}" in section


def test_opening_an_application_is_itself_audited(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    application = country[NORTH]
    assert inspector.get(f"/inspection/applications/{application.id}").status_code == 200
    (event,) = events(db, "application.viewed", str(application.id))
    assert (event.actor, event.object_type) == ("inspector", "application")
    assert audit.verify_chain(db).ok


@pytest.mark.parametrize("kind", ["ticket", "correction"])
def test_opening_a_ticket_or_a_correction_is_audited(
    inspector: FlaskClient, db: Session, country: dict[str, Application], kind: str
) -> None:
    ticket = corrected(db, country[HOME])
    record_id = ticket.id
    if kind == "correction":
        record_id = int(events(db, "correction.logged")[0].object_id)
    page = inspector.get(f"/inspection/{kind}s/{record_id}")
    assert page.status_code == 200
    assert 'data-action="correction.approved"' in page.get_data(as_text=True)
    assert len(events(db, f"{kind}.viewed", str(record_id))) == 1


def test_an_sms_body_is_shown_on_its_own_page_only(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    message = Message(
        direction=Direction.INBOUND,
        phone="+9613123456",
        body="COMPLAINT nobody answered",
        status=MessageStatus.RECEIVED,
        purpose="complaint",
    )
    message.place_in(area(db, ELSEWHERE))
    db.add(message)
    db.commit()
    listed = inspector.get("/inspection/messages").get_data(as_text=True)
    assert "+9613•••456" in listed and "nobody answered" not in listed
    assert "+9613123456" not in listed
    page = inspector.get(f"/inspection/messages/{message.id}").get_data(as_text=True)
    assert "nobody answered" in page and "+9613123456" not in page
    assert len(events(db, "message.viewed", str(message.id))) == 1


def test_a_link_sms_is_shown_without_its_token(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    token = "AbCdEf0123456789_-xyzABC"
    message = Message(
        direction=Direction.OUTBOUND,
        phone="+9613123456",
        body=f"1766: fill in your form at https://intake.test/f/{token}",
        status=MessageStatus.DELIVERED,
        purpose="form_link",
    )
    db.add(message)
    db.commit()
    html = inspector.get(f"/inspection/messages/{message.id}").get_data(as_text=True)
    assert "https://intake.test/f/•••" in html and token not in html


def test_a_record_that_does_not_exist_is_not_found(inspector: FlaskClient) -> None:
    for path in ("applications/999999", "tickets/999999", "messages/1", "users/999999"):
        assert inspector.get(f"/inspection/{path}").status_code == 404


@pytest.mark.parametrize(
    "kind", ["applications", "links", "messages", "calls", "tickets", "corrections", "users"]
)
def test_every_list_opens(
    inspector: FlaskClient, db: Session, country: dict[str, Application], kind: str
) -> None:
    corrected(db, country[HOME])
    page = inspector.get(f"/inspection/{kind}")
    assert page.status_code == 200
    assert "$argon2" not in page.get_data(as_text=True)


def test_lists_come_a_page_at_a_time(inspector: FlaskClient, db: Session) -> None:
    for n in range(PAGE_SIZE + 5):
        audit.record(db, "bench", "test.event", "thing", str(n))
    db.commit()
    first = inspector.get("/inspection/audit?action=test.").get_data(as_text=True)
    assert first.count('data-action="test.event"') == PAGE_SIZE
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = inspector.get("/inspection/audit?action=test.&page=2").get_data(as_text=True)
    assert second.count('data-action="test.event"') == 5
    assert 'rel="next"' not in second and 'rel="prev"' in second


@pytest.mark.parametrize("kind", list(Kind))
def test_the_queries_give_nothing_without_the_inspection_permission(
    db: Session, country: dict[str, Application], kind: Kind
) -> None:
    corrected(db, country[AKKAR])
    sms = Message(direction=Direction.INBOUND, phone="+9613123456", body="HELP", status="received")
    call = Call(
        call_sid="CA" + "1" * 32, direction="inbound", phone="+9613123456", status="ringing"
    )
    for record in (sms, call):
        record.place_in(area(db, AKKAR))
    db.add_all([sms, call])
    db.flush()
    agent = db.scalars(select(StaffUser).where(StaffUser.username == "agent-a")).one()
    inspector = db.scalars(select(StaffUser).where(StaffUser.username == "inspector")).one()
    assert list_page(db, inspector, kind, Filters()).rows != []
    assert list_page(db, agent, kind, Filters()).rows == []  # the room reads, but not this way
    assert trail_of(db, agent, {"application": [country[AKKAR].id]}) == []


# --- exports -------------------------------------------------------------------------------


def test_the_application_export_carries_codes_not_the_familys_answers(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    response = export(inspector, "/inspection/applications.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Content-Disposition"].endswith('.csv"')
    text = response.get_data(as_text=True)
    header, *rows = rows_of(text)
    assert header[:4] == ["reference", "status", "reason", "version"]
    assert {row[0] for row in rows} == {app.reference for app in country.values()}
    assert {row[header.index("governorate")] for row in rows} == {"LB3", "LB1", "LB7", "LB5"}
    for personal in ("علي", "الخوري", "100000001", "+96131", "•••"):
        assert personal not in text


def test_an_export_is_audited_with_its_filters_but_not_a_typed_search(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    export(inspector, "/inspection/applications.csv?status=received&search=03+100+001")
    (event,) = events(db, "export.applications")
    assert event.actor == "inspector"
    # The round is on the record too: an export of applications holds one round's.
    assert event.details == '{"round":"impact-2020","searched":true,"status":"received"}'


def test_a_followed_export_link_downloads_nothing_and_shows_the_button(
    inspector: FlaskClient, db: Session
) -> None:
    page = inspector.get("/inspection/applications.csv?status=received")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Content-Disposition" not in page.headers
    html = page.get_data(as_text=True)
    # The download keeps the list's filters, and the round the list shows.
    chosen = "/inspection/applications.csv?status=received&amp;round=impact-2020"
    assert f'method="post" action="{chosen}"' in html
    assert 'name="csrf_token"' in html
    assert events(db, "export.applications") == []
    listing = inspector.get("/inspection/applications?status=received").get_data(as_text=True)
    assert f'method="post" action="{chosen}"' in listing


def test_an_export_posted_without_the_pages_token_is_refused(
    inspector: FlaskClient, db: Session
) -> None:
    """Another site's form cannot know the token, so it cannot make an inspector export."""
    for token in ({}, {"csrf_token": "forged"}):
        refused = inspector.post("/inspection/applications.csv", data=token)
        assert refused.status_code == 400 and refused.mimetype == "text/html"
        assert "Content-Disposition" not in refused.headers
    assert events(db, "export.applications") == []


def test_exported_phones_are_masked_and_bodies_left_out(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    open_ticket(
        db,
        phone="+9613123456",
        channel="sms",
        language="ar",
        category=TicketCategory.OTHER,
        text="the aid never came",
    )
    db.commit()
    text = export(inspector, "/inspection/tickets.csv").get_data(as_text=True)
    header, row = rows_of(text)
    assert row[header.index("phone")] == "'+9613•••456"  # masked, and defused (it starts with +)
    assert "+9613123456" not in text and "the aid never came" not in text
    assert len(events(db, "export.tickets")) == 1


def test_a_cell_that_would_run_as_a_formula_is_defused(inspector: FlaskClient, db: Session) -> None:
    audit.record(db, '=HYPERLINK("http://example.invalid","open")', "test.event", "thing", "-1")
    db.commit()
    header, *rows = rows_of(export(inspector, "/inspection/audit.csv").get_data(as_text=True))
    forged = next(row for row in rows if row[header.index("action")] == "test.event")
    assert forged[header.index("actor")] == '\'=HYPERLINK("http://example.invalid","open")'
    assert forged[header.index("object_id")] == "'-1"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+961", "'+961"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("مرحبا", "مرحبا"),
        (-5, "-5"),
        (None, ""),
        (True, "true"),
    ],
)
def test_cells(value: object, written: str) -> None:
    assert cell(value) == written


# --- the whole trail -----------------------------------------------------------------------


def test_the_trail_is_newest_first_and_filters_by_actor(
    inspector: FlaskClient, db: Session, country: dict[str, Application]
) -> None:
    corrected(db, country[HOME])
    html = inspector.get("/inspection/audit?actor=committee-a").get_data(as_text=True)
    assert 'data-action="correction.approved"' in html
    assert 'data-action="correction.logged"' not in html  # logged by agent-a
    everything = inspector.get("/inspection/audit").get_data(as_text=True)
    assert everything.index("correction.approved") < everything.index("correction.logged")


def test_verifying_an_intact_chain(inspector: FlaskClient, db: Session) -> None:
    count = int(db.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    html = inspector.get("/inspection/audit/verify").get_data(as_text=True)
    assert f'data-chain="ok" data-checked="{count}"' in html


def test_verifying_names_the_first_tampered_event(inspector: FlaskClient, db: Session) -> None:
    as_table_owner(db)
    db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone else"))
    db.commit()
    html = inspector.get("/inspection/audit/verify").get_data(as_text=True)
    assert 'data-chain="broken" data-broken="2"' in html
    assert "event 2 was altered after it was written" in html


# --- untrusted query parameters ------------------------------------------------------------

JUNK = [
    "/inspection/applications?page=abc",
    "/inspection/applications?page=-1",
    "/inspection/applications?page=99999999999999999999",
    "/inspection/applications?page=%C2%B2",
    "/inspection/applications?search=" + "7" * 10_000,
    "/inspection/applications?search=%00%FF&status=%00",
    "/inspection/tickets?status=open%00&category=nonsense&channel=" + "x" * 10_000,
    "/inspection/audit?actor=%00&action=%25_&object_type=a%00b&object_id=" + "9" * 10_000,
    "/inspection/users?role=admin%27--&page=0",
    "/inspection/messages?status=delivered&unknown=1",
    "/inspection/audit.csv?actor=" + "x" * 10_000 + "&page=abc",
    "/inspection/applications.csv?search=%00",
]


@pytest.mark.parametrize("path", JUNK)
def test_junk_query_parameters_give_a_page_not_an_error(inspector: FlaskClient, path: str) -> None:
    response = inspector.get(path)
    assert response.status_code == 200
    if ".csv" in path:  # the streamed exports too
        downloaded = export(inspector, path)
        assert downloaded.status_code == 200 and downloaded.get_data()


@pytest.mark.parametrize(
    "path", ["/inspection/applications/99999999999999999999", "/inspection/tickets/-1"]
)
def test_impossible_ids_are_not_found(inspector: FlaskClient, path: str) -> None:
    assert inspector.get(path).status_code == 404


def test_the_inspector_account_is_listed_without_its_password_hash(
    inspector: FlaskClient, db: Session
) -> None:
    account = db.scalars(select(StaffUser).where(StaffUser.username == "inspector")).one()
    html = inspector.get(f"/inspection/users/{account.id}").get_data(as_text=True)
    assert 'data-action="staff.signed_in"' in html
    assert account.password_hash not in html
    assert account.password_hash not in export(inspector, "/inspection/users.csv").get_data(
        as_text=True
    )
