"""The aggregator's webhooks, with the service on `SMS_BACKEND=http` and the fake aggregator:
delivery reports only count when signed (or carrying the secret), move a message only forward,
change nothing when replayed, are ignored for ids we do not know, and a malformed or oversized
one is a 4xx; SMS to 1766 come through the same inbound path as Twilio's, and the keyword's
answer goes back as an SMS through the aggregator."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from assembly.jobs import JOBS
from core.applications import Application, ApplicationStatus
from core.db import utcnow
from core.link_lifecycle import issue_link
from core.links import Channel
from core.messages import Direction, Message, MessageStatus
from core.notifications import Sms, dispatch, owe_text
from core.queue import InlineRunner
from core.references import check_digit, grouped
from core.sms_policy import Occasion
from sms.buffer import STREAM
from sms.consumer import Consumer
from sms.inbound import BUFFER
from tests.plugins.fake_aggregator import (
    SECRET,
    FakeAggregator,
    client_poster,
    service_on_aggregator,
)

CITIZEN = "+9613123456"
STATUS = "/sms/http/status"
INBOUND = "/sms/http/inbound"


def owe(app: Flask, db: Session, body: str = "1766: your form was received.") -> Message:
    """An SMS owed and handed to the fake aggregator (jobs run inline)."""
    owing = owe_text(db, Sms(CITIZEN, body, "en", "receipt"), Occasion.ANSWER)
    db.commit()
    dispatch(app.extensions["intake.jobs"], [owing.message_id], new=True)
    return reread(db, owing.message_id)


def reread(db: Session, message_id: int) -> Message:
    db.expire_all()
    message = db.get(Message, message_id)
    assert message is not None
    return message


def signed(
    client: FlaskClient, path: str, document: object, secret: str = SECRET, **headers: str
) -> int:
    body = json.dumps(document).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers={"X-Signature": signature, **headers},
    ).status_code


def test_a_signed_report_marks_the_message_delivered_by_the_aggregator(
    aggregator_app: Flask,
    aggregator_client: FlaskClient,
    db: Session,
    fake_aggregator: FakeAggregator,
) -> None:
    message = owe(aggregator_app, db)
    (taken,) = fake_aggregator.messages
    assert message.status == MessageStatus.QUEUED
    assert (message.provider_sid, message.gateway) == (taken["id"], "http")
    assert taken["to"] == CITIZEN and taken["ref"] == str(message.id)

    assert fake_aggregator.deliver_all(client_poster(aggregator_client)) == [204]

    assert reread(db, message.id).status == MessageStatus.DELIVERED


def test_a_report_by_the_providers_id_alone_is_applied(
    aggregator_app: Flask,
    aggregator_client: FlaskClient,
    db: Session,
    fake_aggregator: FakeAggregator,
) -> None:
    message = owe(aggregator_app, db)

    assert (
        signed(aggregator_client, STATUS, {"id": message.provider_sid, "status": "DELIVRD"}) == 204
    )

    assert reread(db, message.id).status == MessageStatus.DELIVERED


def test_the_shared_secret_header_is_accepted_instead_of_a_signature(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    message = owe(aggregator_app, db)
    body = json.dumps({"id": message.provider_sid, "status": "DELIVRD"})

    answer = aggregator_client.post(
        STATUS, data=body, content_type="application/json", headers={"X-Webhook-Secret": SECRET}
    )

    assert answer.status_code == 204
    assert reread(db, message.id).status == MessageStatus.DELIVERED


def test_a_form_report_with_a_prefixed_signature_is_accepted(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    message = owe(aggregator_app, db)
    body = f"id={message.provider_sid}&status=UNDELIV&error=11".encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    answer = aggregator_client.post(
        STATUS,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Signature": signature},
    )

    assert answer.status_code == 204
    message = reread(db, message.id)
    assert (message.status, message.error_code) == (MessageStatus.UNDELIVERED, "11")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Signature": "0" * 64},
        {"X-Signature": "not hex at all ✓"},
        {"X-Webhook-Secret": "wrong-secret-of-some-length"},
        {"X-Webhook-Secret": SECRET + "x"},
        {"X-Signature": "", "X-Webhook-Secret": ""},
    ],
    ids=["unsigned", "wrong-signature", "garbage", "wrong-secret", "longer-secret", "empty"],
)
def test_an_unsigned_or_wrongly_signed_report_is_refused_and_changes_nothing(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session, headers: dict[str, str]
) -> None:
    message = owe(aggregator_app, db)
    body = json.dumps({"id": message.provider_sid, "status": "DELIVRD"})

    answer = aggregator_client.post(
        STATUS, data=body, content_type="application/json", headers=headers
    )

    assert answer.status_code == 403
    assert reread(db, message.id).status == MessageStatus.QUEUED


def test_a_report_signed_with_another_secret_is_refused(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    message = owe(aggregator_app, db)
    document = {"id": message.provider_sid, "status": "DELIVRD"}

    assert signed(aggregator_client, STATUS, document, secret="another-secret-entirely") == 403
    assert reread(db, message.id).status == MessageStatus.QUEUED


def test_a_replayed_or_late_report_moves_nothing_back(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    message = owe(aggregator_app, db)
    sid = message.provider_sid

    assert signed(aggregator_client, STATUS, {"id": sid, "status": "DELIVRD"}) == 204
    assert signed(aggregator_client, STATUS, {"id": sid, "status": "DELIVRD"}) == 204
    assert signed(aggregator_client, STATUS, {"id": sid, "status": "ACCEPTD"}) == 204
    assert signed(aggregator_client, STATUS, {"id": sid, "status": "UNDELIV", "error": "1"}) == 204

    message = reread(db, message.id)
    assert (message.status, message.error_code) == (MessageStatus.DELIVERED, None)


def test_reports_out_of_order_end_in_the_furthest_state(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    message = owe(aggregator_app, db)
    sid = message.provider_sid

    assert (
        signed(
            aggregator_client,
            STATUS,
            [{"id": sid, "status": "DELIVRD"}, {"id": sid, "status": "SENT"}],
        )
        == 204
    )

    assert reread(db, message.id).status == MessageStatus.DELIVERED


def test_a_report_for_an_id_we_do_not_know_is_ignored_with_success(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    message = owe(aggregator_app, db)

    assert signed(aggregator_client, STATUS, {"id": "AGG999999", "status": "DELIVRD"}) == 204
    assert (
        signed(aggregator_client, STATUS + "?m=2147483000", {"id": "X1", "status": "DELIVRD"})
        == 204
    )
    assert signed(aggregator_client, STATUS, {"id": message.provider_sid, "status": "WEIRD"}) == 204

    assert reread(db, message.id).status == MessageStatus.QUEUED


def test_a_report_naming_another_message_in_its_url_changes_neither(
    aggregator_app: Flask, aggregator_client: FlaskClient, db: Session
) -> None:
    first = owe(aggregator_app, db)
    second = owe(aggregator_app, db, "1766: another message.")

    answer = signed(
        aggregator_client,
        f"{STATUS}?m={second.id}",
        {"id": first.provider_sid, "status": "UNDELIV"},
    )

    assert answer == 204
    assert reread(db, first.id).status == MessageStatus.QUEUED
    assert reread(db, second.id).status == MessageStatus.QUEUED


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'"just a string"', "application/json"),
        (b"[]", "application/json"),
        (b'{"status": "DELIVRD"}', "application/json"),
        (b'{"id": "AGG1"}', "application/json"),
        (b'{"id": {"nested": 1}, "status": ["DELIVRD"]}', "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        ("id=١٢&text=✓‏".encode(), "application/x-www-form-urlencoded"),
    ],
    ids=[
        "broken",
        "bad-utf8",
        "string",
        "empty-list",
        "no-id",
        "no-status",
        "not-scalars",
        "deep",
        "form-no-status",
    ],
)
def test_a_malformed_report_is_a_client_error(
    aggregator_client: FlaskClient, body: bytes, kind: str
) -> None:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    answer = aggregator_client.post(
        STATUS, data=body, content_type=kind, headers={"X-Signature": signature}
    )

    assert 400 <= answer.status_code < 500


def test_an_oversized_report_is_refused_before_it_is_read(aggregator_client: FlaskClient) -> None:
    document = {"id": "AGG1", "status": "DELIVRD", "pad": "x" * 20_000}

    assert signed(aggregator_client, STATUS, document) == 413


def test_without_an_aggregator_configured_its_webhooks_are_not_there(client: FlaskClient) -> None:
    assert signed(client, STATUS, {"id": "AGG1", "status": "DELIVRD"}) == 404
    assert signed(client, INBOUND, {"id": "1", "from": CITIZEN, "text": "HELP"}) == 404


def test_nothing_personal_is_logged_by_the_webhooks(
    aggregator_app: Flask,
    aggregator_client: FlaskClient,
    db: Session,
    fake_aggregator: FakeAggregator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    owe(aggregator_app, db, "1766: secret words here.")
    fake_aggregator.deliver_all(client_poster(aggregator_client))
    fake_aggregator.inbound(
        "https://intake.test", CITIZEN, "HELP me", client_poster(aggregator_client)
    )
    signed(aggregator_client, STATUS, {"id": "x"}, secret="wrong-secret-entirely")

    assert "3123456" not in caplog.text
    assert "secret words" not in caplog.text and "HELP me" not in caplog.text


# -- SMS to 1766 through the aggregator ---------------------------------------------------

_references = itertools.count(3)


def make_application(db: Session, phone: str = CITIZEN) -> Application:
    """A family's application, as a submitted form leaves it."""
    link, _token = issue_link(db, None, phone, "en", Channel.HOTLINE)
    shift = next(_references) % 9
    body = "123456789"[shift:] + "123456789"[:shift]
    application = Application(
        reference=body + check_digit(body),
        programme_id=link.programme_id,
        link_id=link.id,
        channel=Channel.HOTLINE,
        phone=phone,
        language="en",
        status=ApplicationStatus.RECEIVED,
        data="{}",
        submitted_at=utcnow(),
    )
    db.add(application)
    db.commit()
    return application


def inbound_count(db: Session) -> int:
    db.expire_all()
    stmt = select(func.count()).select_from(Message).where(Message.direction == Direction.INBOUND)
    return int(db.scalar(stmt) or 0)


def test_a_status_asked_through_the_aggregator_is_answered_by_an_sms_through_it(
    aggregator_client: FlaskClient, db: Session, fake_aggregator: FakeAggregator, open_round: None
) -> None:
    application = make_application(db)
    post = client_poster(aggregator_client)

    answer = fake_aggregator.inbound(
        "https://intake.test", "9613123456", f"STATUS {application.reference}", post
    )

    assert answer == 204
    (reply,) = fake_aggregator.messages
    assert reply["to"] == CITIZEN
    assert grouped(application.reference) in reply["text"]
    assert "received" in reply["text"]
    logged = db.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert logged.phone == CITIZEN and logged.provider_sid is not None
    assert logged.provider_sid.startswith("http-")


def test_a_replayed_inbound_sms_is_decided_once(
    aggregator_client: FlaskClient, db: Session, fake_aggregator: FakeAggregator
) -> None:
    document = {"id": "mo-77", "from": CITIZEN, "text": "HELP"}

    assert signed(aggregator_client, INBOUND, document) == 204
    assert signed(aggregator_client, INBOUND, document) == 204

    assert inbound_count(db) == 1
    assert len(fake_aggregator.messages) == 1  # one HELP text


def test_an_inbound_sms_without_an_id_is_still_decided_once_when_replayed(
    aggregator_client: FlaskClient, db: Session, fake_aggregator: FakeAggregator
) -> None:
    document = {"from": CITIZEN, "text": "مساعدة"}

    assert signed(aggregator_client, INBOUND, document) == 204
    assert signed(aggregator_client, INBOUND, document) == 204

    assert inbound_count(db) == 1
    (reply,) = fake_aggregator.messages
    assert any("\u0600" <= ch <= "\u06ff" for ch in reply["text"])


@pytest.mark.parametrize(
    "document",
    [
        {"text": "HELP"},
        {"from": CITIZEN},
        {"from": CITIZEN, "text": {"x": 1}},
        {"from": "", "text": "x"},
    ],
    ids=["no-sender", "no-text", "text-object", "empty-sender"],
)
def test_a_malformed_inbound_sms_is_refused_and_kept_nowhere(
    aggregator_client: FlaskClient,
    db: Session,
    fake_aggregator: FakeAggregator,
    document: dict[str, object],
) -> None:
    assert signed(aggregator_client, INBOUND, document) == 400

    assert inbound_count(db) == 0
    assert fake_aggregator.messages == []


def test_an_unsigned_inbound_sms_is_refused_and_kept_nowhere(
    aggregator_client: FlaskClient, db: Session, fake_aggregator: FakeAggregator
) -> None:
    body = json.dumps({"id": "1", "from": CITIZEN, "text": "STOP"})

    answer = aggregator_client.post(INBOUND, data=body, content_type="application/json")

    assert answer.status_code == 403
    assert inbound_count(db) == 0


def test_emoji_bidi_marks_and_a_long_text_are_taken(
    aggregator_client: FlaskClient, db: Session, fake_aggregator: FakeAggregator
) -> None:
    document = {"id": "mo-9", "from": "+961 3 123 456", "text": "\u200fمساعدة 😀" + "ب" * 2000}

    assert signed(aggregator_client, INBOUND, document) == 204

    assert inbound_count(db) == 1
    assert len(fake_aggregator.messages) == 1


def test_with_redis_an_inbound_sms_is_buffered_and_decided_by_the_consumers(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_aggregator: FakeAggregator,
    redis_url: str,
    db: Session,
) -> None:
    """The same buffer as Twilio's: the webhook only appends, a consumer decides and replies."""
    redis = Redis.from_url(redis_url)
    redis.delete(STREAM)
    try:
        app = service_on_aggregator(engine, session_factory, fake_aggregator)
        buffered = create_app(
            dataclasses.replace(app.config["INTAKE_SETTINGS"], redis_url=redis_url),
            session_factory=session_factory,
        )
        client = buffered.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"

        assert signed(client, INBOUND, {"id": "mo-1", "from": CITIZEN, "text": "HELP"}) == 204
        assert redis.xlen(STREAM) == 1
        assert inbound_count(db) == 0 and fake_aggregator.messages == []

        edge = buffered.extensions[BUFFER]
        edge.buffer.ensure_group()
        consumer = Consumer(
            buffered.extensions["intake.sessionmaker"], InlineRunner(JOBS), edge.buffer, "h1"
        )
        with buffered.app_context():
            assert consumer.step(block_ms=0) == 1

        assert redis.xlen(STREAM) == 0
        assert inbound_count(db) == 1
        (reply,) = fake_aggregator.messages
        assert reply["to"] == CITIZEN
    finally:
        redis.delete(STREAM)
