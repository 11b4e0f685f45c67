"""The complaint room's console over HTTP: the queue, take next call, tickets, corrections.

The service runs on Twilio settings pointed at the fake Twilio server, so *take next call*,
the recording and every SMS go through the real `twilio` library and `requests`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.applications import Application
from core.audit import AuditEvent
from core.calls import Call
from core.corrections import CorrectionRequest
from core.db import utcnow
from core.programme import set_window
from core.roles import Role
from core.tickets import Ticket, TicketCategory, open_ticket
from core.users import StaffUser
from tests.plugins.fake_twilio import ACCOUNT_SID, CALLS, RECORDING_MP3, FakeTwilio
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.households import submitted
from tests.support.ivr_caller import CALLER, queued_call
from tests.support.staff_web import client_for, csrf
from tests.support.twilio_requests import twilio_settings

AGENT_PHONE = "+9611555444"
VOICE_NUMBER = "+9611766000"
RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE0123abcd"


@pytest.fixture
def room_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
) -> Flask:
    settings = twilio_settings(
        engine, twilio_api_base_url=fake_twilio.url, twilio_voice_number=VOICE_NUMBER
    )
    app = create_app(settings, session_factory=session_factory)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def hotline_room(db: Session) -> Iterator[dict[str, StaffUser]]:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "test")
    users = {
        "agent": make_user(db, Role.AGENT, "LB", "agent-1"),
        "agent2": make_user(db, Role.AGENT, "LB", "agent-2"),
        "committee": make_user(db, Role.COMMITTEE, "LB", "committee-1"),
        "focal": make_user(db, Role.FOCAL_POINT, HOME, "focal-1"),
    }
    users["agent"].phone = AGENT_PHONE
    users["agent2"].phone = "+9611555445"
    db.commit()
    yield users


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> object:
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, "/hotline")})


def actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_take_next_call_rings_the_agent_with_twiml_that_dials_the_queue(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    application = submitted(db, 1, phone=CALLER)
    db.commit()
    call = queued_call(db)
    agent = client_for(room_app, "agent-1")
    answer = agent.post("/hotline/take-next", data={"csrf_token": csrf(agent, "/hotline")})
    assert answer.status_code == 302 and answer.location.endswith(f"/hotline/calls/{call.id}")
    (rung,) = fake_twilio.calls
    assert (rung["to"], rung["from"]) == (AGENT_PHONE, VOICE_NUMBER)
    dial = ET.fromstring(rung["twiml"]).find("Dial")
    assert dial is not None and dial.findtext("Queue") == "complaint-room"
    page = agent.get(answer.location).get_data(as_text=True)
    assert CALLER in page and application.reference[:4] in page
    assert actions(db)[-2:] == ["call.taken", "caller.viewed"]
    # The next agent finds nobody waiting: the caller is not handed out twice.
    other = client_for(room_app, "agent-2")
    again = other.post("/hotline/take-next", data={"csrf_token": csrf(other, "/hotline")})
    assert again.location.endswith("dial_error=empty")
    assert len(fake_twilio.calls) == 1


def test_a_failed_ring_leaves_the_caller_waiting(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    call = queued_call(db)
    fake_twilio.fail_next(1, status=500, code=20500, resource=CALLS)
    agent = client_for(room_app, "agent-1")
    answer = agent.post("/hotline/take-next", data={"csrf_token": csrf(agent, "/hotline")})
    assert "dial_error=failed" in answer.location
    db.expire_all()
    assert db.get(Call, call.id).answered_at is None  # type: ignore[union-attr]
    assert "call.taken" not in actions(db)


def test_an_agent_without_a_phone_is_told_and_nothing_is_dialled(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    queued_call(db)
    hotline_room["agent"].phone = None
    db.commit()
    agent = client_for(room_app, "agent-1")
    answer = agent.post("/hotline/take-next", data={"csrf_token": csrf(agent, "/hotline")})
    assert "dial_error=no_phone" in answer.location
    assert fake_twilio.calls == []


def test_the_room_is_closed_to_other_roles(
    room_app: Flask, hotline_room: dict, db: Session
) -> None:
    focal = client_for(room_app, "focal-1")
    assert focal.get("/hotline").status_code == 403
    committee = client_for(room_app, "committee-1")
    assert committee.get("/hotline").status_code == 200
    assert post(committee, "/hotline/take-next").status_code == 403  # type: ignore[attr-defined]


def test_a_decision_reaches_the_citizen_by_sms_in_their_language(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    ticket = open_ticket(
        db, phone=CALLER, channel="sms", language="fr", category=TicketCategory.DISTRIBUTION
    )
    db.commit()
    agent = client_for(room_app, "agent-1")
    path = f"/hotline/tickets/{ticket.id}/decide"
    empty = post(agent, path, {"status": "resolved", "note": " "})
    assert "error=note" in empty.location  # type: ignore[attr-defined]
    post(agent, path, {"status": "resolved", "note": "Colis livré le 2 mai."})
    db.expire_all()
    assert db.get(Ticket, ticket.id).status == "resolved"  # type: ignore[union-attr]
    (sms,) = [m for m in fake_twilio.messages if m["to"] == CALLER]
    assert ticket.number[:4] in sms["body"] and "Colis livré le 2 mai." in sms["body"]
    assert sms["body"] != "1766: complaint %(number)s is resolved: %(note)s"  # translated


def recorded_ticket(db: Session) -> Ticket:
    """A committed ticket from the voice menu, with the caller's recording on Twilio."""
    ticket = open_ticket(
        db,
        phone=CALLER,
        channel="ivr",
        language="ar",
        category=TicketCategory.OTHER,
        recording_url=RECORDING,
    )
    db.commit()
    return ticket


def test_the_recording_plays_through_the_service(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    ticket = recorded_ticket(db)
    agent = client_for(room_app, "agent-1")
    answer = agent.get(f"/hotline/tickets/{ticket.id}/recording")
    assert (answer.status_code, answer.mimetype, answer.data) == (200, "audio/mpeg", RECORDING_MP3)
    assert actions(db)[-1] == "recording.played"


def test_another_sites_link_plays_no_recording_and_records_nothing(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    ticket = recorded_ticket(db)
    agent = client_for(room_app, "agent-1")
    path = f"/hotline/tickets/{ticket.id}/recording"
    refused = agent.get(path, headers={"Sec-Fetch-Site": "cross-site"})
    assert (refused.status_code, refused.mimetype) == (403, "text/html")
    assert "recording.played" not in actions(db)
    played = agent.get(path, headers={"Sec-Fetch-Site": "same-origin"})  # the ticket's <audio>
    assert played.status_code == 200 and actions(db)[-1] == "recording.played"


def test_a_recording_url_elsewhere_than_twilio_is_never_fetched(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    ticket = open_ticket(
        db,
        phone=CALLER,
        channel="ivr",
        language="ar",
        category=TicketCategory.OTHER,
        recording_url="https://169.254.169.254/latest/Recordings/RE1",
    )
    db.commit()
    agent = client_for(room_app, "agent-1")
    assert agent.get(f"/hotline/tickets/{ticket.id}/recording").status_code == 404


def test_a_correction_needs_another_member_and_tells_the_citizen(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    application = submitted(db, 2, phone=CALLER)
    ticket = open_ticket(
        db, phone=CALLER, channel="ivr", language="ar", category=TicketCategory.CORRECTION
    )
    db.commit()
    agent = client_for(room_app, "agent-1")
    bad = post(
        agent,
        f"/hotline/tickets/{ticket.id}/corrections",
        {"field-0": "rooms", "new-0": "99", "reason-0": "bigger"},
    )
    assert bad.status_code == 400  # type: ignore[attr-defined]
    post(
        agent,
        f"/hotline/tickets/{ticket.id}/corrections",
        {"field-0": "rooms", "new-0": "3", "reason-0": "a room was built", "proof-0": "permit"},
    )
    correction = db.scalars(select(CorrectionRequest)).one()
    assert (
        post(
            agent, f"/hotline/corrections/{correction.id}/decide", {"decision": "approve"}
        ).status_code
        == 403
    )  # type: ignore[attr-defined]
    committee = client_for(room_app, "committee-1")
    post(committee, f"/hotline/corrections/{correction.id}/decide", {"decision": "approve"})
    db.expire_all()
    assert db.get(Application, application.id).version == 2  # type: ignore[union-attr]
    (sms,) = [m for m in fake_twilio.messages if m["to"] == CALLER]
    assert application.reference[:4] in sms["body"].replace(" ", "")


def test_a_correction_link_goes_by_sms_to_the_applications_phone(
    room_app: Flask, hotline_room: dict, db: Session, fake_twilio: FakeTwilio
) -> None:
    submitted(db, 3, phone=CALLER)
    ticket = open_ticket(
        db, phone="+9613777777", channel="ivr", language="en", category=TicketCategory.CORRECTION
    )
    from core.tickets import link_application

    link_application(ticket, db.scalars(select(Application)).one())
    db.commit()
    agent = client_for(room_app, "agent-1")
    post(agent, f"/hotline/tickets/{ticket.id}/correction-link")
    (sms,) = fake_twilio.messages
    assert sms["to"] == CALLER and "https://intake.test/f/" in sms["body"]


def test_the_console_leads_agents_and_the_committee_to_the_room(
    room_app: Flask, hotline_room: dict, db: Session
) -> None:
    for username, shown in (("agent-1", True), ("committee-1", True), ("focal-1", False)):
        page = client_for(room_app, username).get("/console").get_data(as_text=True)
        assert ('href="/hotline"' in page) is shown, username


def test_a_municipality_reads_its_complaints_but_never_the_misconduct_reports(
    room_app: Flask, hotline_room: dict, db: Session
) -> None:
    from core.tickets import link_application

    application = submitted(db, 4, phone=CALLER)  # lives in HOME
    numbers = {}
    for category in (TicketCategory.DISTRIBUTION, TicketCategory.MISCONDUCT):
        ticket = open_ticket(db, phone=CALLER, channel="sms", language="ar", category=category)
        link_application(ticket, application)
        numbers[category] = ticket.number
    make_user(db, Role.QAIMAQAM, "LB32", "qaimaqam-1")
    db.commit()
    focal = client_for(room_app, "focal-1")
    assert 'href="/console/complaints"' in focal.get("/console").get_data(as_text=True)
    page = focal.get("/console/complaints").get_data(as_text=True)
    distribution, misconduct = numbers.values()
    assert distribution[:4] in page and misconduct[4:] not in page
    qaimaqam = client_for(room_app, "qaimaqam-1").get("/console/complaints")
    assert misconduct[4:] in qaimaqam.get_data(as_text=True)
    admin = make_user(db, Role.ADMIN, "LB", "admin-1")
    db.commit()
    assert client_for(room_app, admin.username).get("/console/complaints").status_code == 403
