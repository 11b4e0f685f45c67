"""`SMS_BACKEND=twilio,http`: what Twilio cannot carry to a Lebanese number goes by the local
aggregator, and only that. The fake Twilio refuses (21408: the region is not enabled) or
reports undelivered for the route (30006); the fake aggregator takes the message and its
signed delivery report marks it delivered, by "http". A family's STOP is never worked round
through the other provider, and what Twilio takes stays with Twilio."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.messages import Message, MessageStatus
from core.messaging_settings import MessagingSettings
from core.notifications import Sms, dispatch, owe_text
from core.settings import SmsBackend
from core.sms_policy import Occasion
from sms.fallback_gateway import FallbackGateway, never
from sms.gateway import OutgoingSms, PermanentSendError, RetryableSendError, SendResult
from tests.plugins.fake_aggregator import FakeAggregator, aggregator_settings, client_poster
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.twilio_requests import post_signed, twilio_settings

LEBANESE = "+96171234567"
TEXT = "1766: your application was received."


def owe(app: Flask, db: Session, body: str = TEXT, phone: str = LEBANESE) -> int:
    """An SMS owed and handed to the gateway (jobs run inline); its id."""
    owing = owe_text(db, Sms(phone, body, "en", "receipt"), Occasion.ANSWER)
    db.commit()
    dispatch(app.extensions["intake.jobs"], [owing.message_id], new=True)
    return owing.message_id


def reread(db: Session, message_id: int) -> Message:
    db.expire_all()
    message = db.get(Message, message_id)
    assert message is not None
    return message


def test_a_lebanese_number_twilio_refuses_is_delivered_by_the_aggregator(
    fallback_app: Flask,
    fallback_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    fake_aggregator: FakeAggregator,
) -> None:
    fake_twilio.fail_next(1, status=400, code=21408)  # permission to send to Lebanon not enabled

    message_id = owe(fallback_app, db)

    assert fake_twilio.create_attempts() == 1 and fake_twilio.messages == []
    (taken,) = fake_aggregator.messages
    assert (taken["to"], taken["text"]) == (LEBANESE, TEXT)
    message = reread(db, message_id)
    assert (message.status, message.gateway, message.provider_sid) == (
        MessageStatus.QUEUED,
        "http",
        taken["id"],
    )

    assert fake_aggregator.report(taken, "DELIVRD", post=client_poster(fallback_client)) == 204

    message = reread(db, message_id)
    assert (message.status, message.gateway) == (MessageStatus.DELIVERED, "http")


def test_what_twilio_takes_stays_with_twilio(
    fallback_app: Flask, db: Session, fake_twilio: FakeTwilio, fake_aggregator: FakeAggregator
) -> None:
    message_id = owe(fallback_app, db)

    message = reread(db, message_id)
    assert (message.gateway, message.provider_sid) == ("twilio", fake_twilio.messages[0]["sid"])
    assert fake_aggregator.requests == []


@pytest.mark.parametrize(
    ("code", "status"),
    [(21610, MessageStatus.FAILED), (21211, MessageStatus.FAILED)],
    ids=["stop", "invalid-number"],
)
def test_a_stop_or_a_bad_number_is_not_tried_by_the_aggregator(
    fallback_app: Flask,
    db: Session,
    fake_twilio: FakeTwilio,
    fake_aggregator: FakeAggregator,
    code: int,
    status: MessageStatus,
) -> None:
    fake_twilio.fail_next(1, status=400, code=code)

    message_id = owe(fallback_app, db)

    assert fake_aggregator.requests == []
    message = reread(db, message_id)
    assert (message.status, message.error_code) == (status, str(code))


def test_a_message_routed_to_the_aggregator_goes_by_it_without_asking_twilio(
    fallback_app: Flask, db: Session, fake_twilio: FakeTwilio, fake_aggregator: FakeAggregator
) -> None:
    owing = owe_text(db, Sms(LEBANESE, TEXT, "en", "receipt"), Occasion.ANSWER)
    db.get_one(Message, owing.message_id).via = "http"
    db.commit()

    dispatch(fallback_app.extensions["intake.jobs"], [owing.message_id], new=True)

    assert fake_twilio.create_attempts() == 0
    assert len(fake_aggregator.messages) == 1
    assert reread(db, owing.message_id).gateway == "http"


def test_an_aggregator_that_refuses_too_leaves_the_message_failed(
    fallback_app: Flask, db: Session, fake_twilio: FakeTwilio, fake_aggregator: FakeAggregator
) -> None:
    fake_twilio.fail_next(1, status=400, code=21612)
    fake_aggregator.refuse(LEBANESE, 400)

    message_id = owe(fallback_app, db)

    message = reread(db, message_id)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "http400")


def test_a_delivery_failure_twilio_reports_for_the_route_is_resent_by_the_aggregator(
    fallback_app: Flask,
    fallback_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    fake_aggregator: FakeAggregator,
) -> None:
    message_id = owe(fallback_app, db)
    sid = fake_twilio.messages[0]["sid"]
    report = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}

    answer = post_signed(fallback_client, f"/sms/status?m={message_id}", report)

    assert answer.status_code == 204
    first = reread(db, message_id)
    assert (first.status, first.gateway) == (MessageStatus.UNDELIVERED, "twilio")
    resend = db.scalars(select(Message).where(Message.resend_of == message_id)).one()
    (taken,) = fake_aggregator.messages
    assert (taken["to"], taken["text"], taken["ref"]) == (LEBANESE, TEXT, str(resend.id))
    assert (resend.via, resend.gateway, resend.status) == ("http", "http", MessageStatus.QUEUED)
    assert len(fake_twilio.messages) == 1  # not offered to Twilio again

    assert fake_aggregator.report(taken, "DELIVRD", post=client_poster(fallback_client)) == 204
    assert reread(db, resend.id).status == MessageStatus.DELIVERED


# -- the gateway alone ----------------------------------------------------------------------


class Refusing:
    """A backend that refuses every message with `code`, or takes it."""

    def __init__(self, code: str | None = None, retry: bool = False) -> None:
        self.code = code
        self.retry = retry
        self.sent: list[OutgoingSms] = []

    def send(self, sms: OutgoingSms) -> SendResult:
        self.sent.append(sms)
        if self.retry:
            raise RetryableSendError("later", self.code)
        if self.code is not None:
            raise PermanentSendError("refused", self.code)
        return SendResult(f"id-{len(self.sent)}", "queued")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        return "found" if self.sent else None


SMS = OutgoingSms(5, LEBANESE, TEXT, None)


def test_a_passing_failure_of_the_primary_is_not_sent_elsewhere() -> None:
    primary, fallback = Refusing("30001", retry=True), Refusing()
    gateway = FallbackGateway(("twilio", primary), ("http", fallback))

    with pytest.raises(RetryableSendError):
        gateway.send(SMS)
    assert fallback.sent == []


def test_an_aggregator_as_primary_never_falls_back_on_its_status_codes() -> None:
    primary, fallback = Refusing("http400"), Refusing()
    gateway = FallbackGateway(("http", primary), ("twilio", fallback), never)

    with pytest.raises(PermanentSendError):
        gateway.send(SMS)
    assert fallback.sent == []


def test_either_provider_may_hold_a_message_a_dead_worker_left() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    took = Refusing()
    took.send(SMS)

    assert FallbackGateway(("twilio", Refusing()), ("http", took)).find_sent(LEBANESE, TEXT, since)
    assert (
        FallbackGateway(("twilio", Refusing()), ("http", Refusing())).find_sent(
            LEBANESE, TEXT, since
        )
        is None
    )


def test_an_aggregator_first_reporting_a_route_failure_is_resent_by_twilio(
    engine: Engine,
    session_factory: sessionmaker[Session],
    db: Session,
    fake_twilio: FakeTwilio,
    fake_aggregator: FakeAggregator,
) -> None:
    """`SMS_BACKEND=http,twilio`: the aggregator's REJECTD (mapped to failed:route) sends the
    message again by Twilio; its other failures do not."""
    settings = twilio_settings(
        engine,
        sms_backend=SmsBackend.HTTP,
        twilio_api_base_url=fake_twilio.url,
        http_gateway=aggregator_settings(fake_aggregator),
        messaging=MessagingSettings(sms_fallback=SmsBackend.TWILIO, retry_schedule=()),
    )
    app = create_app(settings, session_factory=session_factory)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    rejected = owe(app, db)
    expired = owe(app, db, "1766: another message.")
    first, second = fake_aggregator.messages
    post = client_poster(client)

    assert fake_aggregator.report(first, "REJECTD", error="8", post=post) == 204
    assert fake_aggregator.report(second, "UNDELIV", error="1", post=post) == 204

    assert reread(db, rejected).status == MessageStatus.FAILED
    assert reread(db, expired).status == MessageStatus.UNDELIVERED
    (resend,) = db.scalars(select(Message).where(Message.resend_of.is_not(None))).all()
    assert (resend.resend_of, resend.via, resend.gateway) == (rejected, "twilio", "twilio")
    (by_twilio,) = fake_twilio.messages
    assert (by_twilio["to"], by_twilio["body"]) == (LEBANESE, TEXT)
