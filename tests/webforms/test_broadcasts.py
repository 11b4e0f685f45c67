"""Information SMS to residents over HTTP: the figures before sending, the author's
confirmation or a second account's approval, the SMS reaching Twilio once, refusals that write
nothing."""

from __future__ import annotations

import itertools
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import sms.jobs
from core.audit import AuditEvent
from core.broadcasts import Broadcast, BroadcastStatus
from core.calls import Call, CallStatus
from core.messages import Direction, Message, MessageStatus
from core.opt_outs import stop
from core.roles import Role
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.factories import AKKAR, NORTH, SAME_DISTRICT, SAMPLE_CODES, load_sample_geography
from tests.support.factories import HOME as CHIYAH
from tests.support.factories import area as area_of
from tests.support.staff_web import csrf, signed_in_as

PEOPLE = {
    "focal": (Role.FOCAL_POINT, CHIYAH),
    "focal-next-door": (Role.FOCAL_POINT, SAME_DISTRICT),
    "mukhtar": (Role.MUKHTAR, CHIYAH),
    "governor": (Role.GOVERNOR, "LB3"),
    "governor-north": (Role.GOVERNOR, "LB5"),
    "ministry": (Role.MINISTRY, "LB"),
    "ministry-2": (Role.MINISTRY, "LB"),
    "focal-akkar": (Role.FOCAL_POINT, AKKAR),
}
TEXT = "The emergency aid programme is open until 30 April. Call 1766 to apply, free of charge."
_sids = itertools.count(1)


@pytest.fixture
def chiyah_residents(db: Session) -> None:
    """Chiyah: 3 numbers texted or called 1766 (one both), a 4th sent STOP; next door: 1;
    Batroun in the North: 1."""
    load_sample_geography(db, SAMPLE_CODES)
    for phone, place, kind in [
        ("+96171000001", CHIYAH, "sms"),
        ("+96171000001", CHIYAH, "call"),
        ("+96171000002", CHIYAH, "sms"),
        ("+96171000003", CHIYAH, "call"),
        ("+96171000004", CHIYAH, "sms"),
        ("+96171000005", SAME_DISTRICT, "sms"),
        ("+96171000006", NORTH, "call"),
    ]:
        db.add(_contact(db, phone, place, kind))
    stop(db, "+96171000004")
    db.commit()


def _contact(db: Session, phone: str, place: str, kind: str) -> Message | Call:
    record: Message | Call
    if kind == "sms":
        record = Message(
            direction=Direction.INBOUND, phone=phone, body="INFO", status=MessageStatus.RECEIVED
        )
    else:
        record = Call(
            call_sid=f"CA{next(_sids):032d}",
            direction=Direction.INBOUND,
            phone=phone,
            status=CallStatus.COMPLETED,
        )
    record.place_in(area_of(db, place))
    return record


def as_user(client: FlaskClient, db: Session, username: str) -> FlaskClient:
    """Signed in as `username` (signing out whoever was), pages in English."""
    return signed_in_as(client, db, username, PEOPLE)


def post(client: FlaskClient, path: str, fields: dict[str, str]) -> TestResponse:
    return client.post(path, data={**fields, "csrf_token": csrf(client, "/console/broadcasts")})


def written(client: FlaskClient, text: str = TEXT) -> int:
    response = post(client, "/console/broadcasts", {"text": text, "language": "en"})
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/console/broadcasts/(\d+)\?done=written", response.headers["Location"])
    assert match
    return int(match.group(1))


def count(db: Session, model: type[object]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def broadcast_sms(db: Session) -> list[Message]:
    db.expire_all()
    stmt = select(Message).where(Message.purpose.like("broadcast:%"))
    return list(db.scalars(stmt))


def figure(page: str, name: str) -> str:
    match = re.search(rf'id="{name}">([^<]*)<', page)
    assert match, name
    return match.group(1)


def test_a_municipality_sends_after_checking_the_figures(
    sms_client: FlaskClient, db: Session, chiyah_residents: None, fake_twilio: FakeTwilio
) -> None:
    client = as_user(sms_client, db, "focal")
    assert "Information SMS to residents" in client.get("/console").get_data(as_text=True)
    form = client.get("/console/broadcasts").get_data(as_text=True)
    assert "It would reach 3 numbers (1 more sent STOP and are skipped)." in form

    broadcast_id = written(client)
    page = client.get(f"/console/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert (figure(page, "sendable"), figure(page, "stopped")) == ("3", "1")
    assert figure(page, "segments") == "1 (GSM-7)"
    assert figure(page, "total-segments") == "3"
    assert figure(page, "cost") == "USD 0.45 at USD 0.15 a segment"
    assert broadcast_sms(db) == []  # nothing goes before the confirmation

    sent = post(client, f"/console/broadcasts/{broadcast_id}/send", {})
    assert sent.status_code == 302
    assert len(broadcast_sms(db)) == 3
    again = post(client, f"/console/broadcasts/{broadcast_id}/send", {})  # a second click
    assert again.status_code == 409
    assert "already confirmed or decided" in again.get_data(as_text=True)
    assert len(broadcast_sms(db)) == 3

    sms.jobs.sweep()  # the outbox hands what is due to the gateway (the relay, with Redis)
    texted = sorted(m["to"] for m in fake_twilio.messages if m["body"] == TEXT)
    assert texted == ["+96171000001", "+96171000002", "+96171000003"]
    progress = client.get(f"/console/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert (figure(progress, "sent"), figure(progress, "skipped")) == ("3", "1")
    assert figure(progress, "owed") == "0" and 'http-equiv="refresh"' not in progress
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-3:] == ["broadcast.written", "broadcast.confirmed", "broadcast.sent"]


def test_a_governorate_broadcast_waits_for_a_second_account(
    sms_client: FlaskClient, db: Session, chiyah_residents: None
) -> None:
    governor = as_user(sms_client, db, "governor")
    broadcast_id = written(governor)
    page = governor.get(f"/console/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert "Waiting for a second account" in page and "send-form" not in page
    assert figure(page, "sendable") == "4"  # Chiyah's 3 and next door's 1
    own = post(governor, f"/console/broadcasts/{broadcast_id}/decide", {"decision": "approve"})
    assert own.status_code == 409 and "another account must approve it" in own.get_data(
        as_text=True
    )
    assert post(governor, f"/console/broadcasts/{broadcast_id}/send", {}).status_code == 409

    north = as_user(sms_client, db, "governor-north")
    assert north.get(f"/console/broadcasts/{broadcast_id}").status_code == 404
    assert (
        post(
            north, f"/console/broadcasts/{broadcast_id}/decide", {"decision": "approve"}
        ).status_code
        == 404
    )
    assert broadcast_sms(db) == []

    ministry = as_user(sms_client, db, "ministry")
    assert "decide-form" in ministry.get(f"/console/broadcasts/{broadcast_id}").get_data(
        as_text=True
    )
    approved = post(ministry, f"/console/broadcasts/{broadcast_id}/decide", {"decision": "approve"})
    assert approved.status_code == 302
    assert len(broadcast_sms(db)) == 4
    events = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert events[-2:] == ["broadcast.approved", "broadcast.sent"]


def test_a_refused_broadcast_is_never_sent(
    sms_client: FlaskClient, db: Session, chiyah_residents: None
) -> None:
    broadcast_id = written(as_user(sms_client, db, "ministry"))
    second = as_user(sms_client, db, "ministry-2")
    refused = post(second, f"/console/broadcasts/{broadcast_id}/decide", {"decision": "refuse"})
    assert refused.status_code == 302
    assert db.get_one(Broadcast, broadcast_id).status == BroadcastStatus.REFUSED
    again = post(second, f"/console/broadcasts/{broadcast_id}/decide", {"decision": "approve"})
    assert again.status_code == 409 and broadcast_sms(db) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "This field is required"),
        ("x" * 500, "at most"),
        ("تعلن وزارة الشؤون الاجتماعية عن برنامج الدعم. " * 6, "at most 3 are allowed"),
        ("<script>alert('x')</script>", "character"),
        ("Apply at https://aid.example.com", "Leave out web addresses"),
    ],
)
def test_bad_text_is_refused_and_nothing_is_written(
    sms_client: FlaskClient, db: Session, chiyah_residents: None, text: str, says: str
) -> None:
    client = as_user(sms_client, db, "focal")
    response = post(client, "/console/broadcasts", {"text": text, "language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Nothing was written" in page
    assert says.lower() in page.lower()
    assert "<script>alert" not in page
    assert count(db, Broadcast) == 0


def test_only_senders_reach_the_page_and_a_neighbour_sees_nothing(
    sms_client: FlaskClient, db: Session, chiyah_residents: None
) -> None:
    broadcast_id = written(as_user(sms_client, db, "focal"))
    mukhtar = as_user(sms_client, db, "mukhtar")
    assert mukhtar.get("/console/broadcasts").status_code == 403
    neighbour = as_user(sms_client, db, "focal-next-door")
    assert neighbour.get(f"/console/broadcasts/{broadcast_id}").status_code == 404
    assert post(neighbour, f"/console/broadcasts/{broadcast_id}/send", {}).status_code == 404
    assert f"/console/broadcasts/{broadcast_id}" not in neighbour.get(
        "/console/broadcasts"
    ).get_data(as_text=True)
    governor = as_user(sms_client, db, "governor")
    assert f"/console/broadcasts/{broadcast_id}" in governor.get("/console/broadcasts").get_data(
        as_text=True
    )


def test_the_progress_page_refreshes_itself_while_sending(
    sms_client: FlaskClient, db: Session, chiyah_residents: None
) -> None:
    client = as_user(sms_client, db, "focal")
    broadcast_id = written(client)
    db.get_one(Broadcast, broadcast_id).status = BroadcastStatus.SENDING  # as a job starts
    db.commit()
    page = client.get(f"/console/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="5">' in page
    assert figure(page, "owed") == "0" and "Resume sending" in page
    resumed = post(client, f"/console/broadcasts/{broadcast_id}/resume", {})
    assert resumed.status_code == 302 and len(broadcast_sms(db)) == 3


def test_an_area_nobody_can_be_texted_in_says_so(
    sms_client: FlaskClient, db: Session, chiyah_residents: None
) -> None:
    client = as_user(sms_client, db, "focal-akkar")
    assert "It would reach 0 numbers" in client.get("/console/broadcasts").get_data(as_text=True)
    response = post(client, "/console/broadcasts", {"text": TEXT, "language": "ar"})
    assert response.status_code == 400
    assert "No number of your area can receive an SMS yet" in response.get_data(as_text=True)
    assert count(db, Broadcast) == 0
