"""Delivery receipts: the signed /sms/status webhook (table-driven) and `record_status`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from assembly.app import create_app
from core.messages import Direction, Message, MessageStatus, message_by_id, record_status
from core.settings import Environment
from sms.gateway import OutgoingSms, status_callback_url
from sms.twilio_backend import TwilioBackend
from tests.conftest import settings_for
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.twilio_requests import PUBLIC, twilio_settings
from web.twilio_auth import twilio_signature_valid

SID = "SM" + "a" * 32
OTHER_SID = "SM" + "b" * 32


@pytest.fixture
def twilio_app(engine: Engine, session_factory: sessionmaker[Session]) -> Flask:
    flask_app = create_app(twilio_settings(engine), session_factory=session_factory)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def twilio_client(twilio_app: Flask) -> FlaskClient:
    test_client = twilio_app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client


def add_message(
    db: Session,
    status: MessageStatus = MessageStatus.QUEUED,
    provider_sid: str | None = SID,
    direction: Direction = Direction.OUTBOUND,
) -> Message:
    message = Message(
        direction=direction,
        phone="+9613123456",
        body="تم استلام طلبك.",
        status=status,
        provider_sid=provider_sid,
    )
    db.add(message)
    db.commit()
    return message


def signature(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


def receipt(status: str, sid: str = SID, error_code: str | None = None) -> dict[str, str]:
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": "+9613123456",
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def post_receipt(client: FlaskClient, query: str, form: dict[str, str], how: str = "signed") -> int:
    """POST a receipt signed as Twilio would (`signed`), with a bad signature, or none."""
    url = f"{PUBLIC}/sms/status" + (f"?{query}" if query else "")
    headers = {}
    if how == "signed":
        headers["X-Twilio-Signature"] = signature(url, form)
    elif how == "tampered":
        headers["X-Twilio-Signature"] = signature(url, {**form, "MessageStatus": "queued"})
    elif how == "wrong-token":
        headers["X-Twilio-Signature"] = signature(url, form, token="another-token")
    path = "/sms/status" + (f"?{query}" if query else "")
    return client.post(path, data=form, headers=headers).status_code


def reloaded(db: Session, message_id: int) -> Message:
    db.expire_all()
    message = message_by_id(db, message_id)
    assert message is not None
    return message


@dataclass(frozen=True)
class Case:
    name: str
    receipts: list[tuple[str, str]]  # (MessageStatus, how it is signed)
    answers: list[int]
    final: MessageStatus
    start: MessageStatus = MessageStatus.QUEUED
    start_sid: str | None = SID
    final_sid: str | None = SID
    extra: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "valid signature moves queued to sent to delivered",
        [("sent", "signed"), ("delivered", "signed")],
        [204, 204],
        MessageStatus.DELIVERED,
    ),
    Case("tampered signature", [("delivered", "tampered")], [403], MessageStatus.QUEUED),
    Case("signed with another token", [("delivered", "wrong-token")], [403], MessageStatus.QUEUED),
    Case("missing signature", [("delivered", "unsigned")], [403], MessageStatus.QUEUED),
    Case(
        "retried identical callback",
        [("sent", "signed"), ("sent", "signed")],
        [204, 204],
        MessageStatus.SENT,
    ),
    Case(
        "out of order keeps delivered",
        [("delivered", "signed"), ("sent", "signed"), ("queued", "signed")],
        [204, 204, 204],
        MessageStatus.DELIVERED,
    ),
    Case(
        "a final state never changes",
        [("undelivered", "signed"), ("delivered", "signed")],
        [204, 204],
        MessageStatus.UNDELIVERED,
    ),
    Case("unknown status word", [("exploded", "signed")], [204], MessageStatus.QUEUED),
    Case(
        "twilio's sending is still queued for us",
        [("sending", "signed")],
        [204],
        MessageStatus.QUEUED,
        start=MessageStatus.SENDING,
    ),
    Case(
        "first receipt records the provider id",
        [("sent", "signed")],
        [204],
        MessageStatus.SENT,
        start=MessageStatus.SENDING,
        start_sid=None,
    ),
    Case(
        "a receipt about another provider message is ignored",
        [("failed", "signed")],
        [204],
        MessageStatus.QUEUED,
        extra={"MessageSid": OTHER_SID, "SmsSid": OTHER_SID},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_status_webhook(twilio_client: FlaskClient, db: Session, case: Case) -> None:
    message = add_message(db, case.start, case.start_sid)

    answers = [
        post_receipt(twilio_client, f"m={message.id}", {**receipt(status), **case.extra}, how)
        for status, how in case.receipts
    ]

    assert answers == case.answers
    stored = reloaded(db, message.id)
    assert (stored.status, stored.provider_sid) == (case.final, case.final_sid)


def test_an_error_code_is_recorded_with_the_final_state(
    twilio_client: FlaskClient, db: Session
) -> None:
    message = add_message(db)

    assert (
        post_receipt(twilio_client, f"m={message.id}", receipt("undelivered", error_code="30003"))
        == 204
    )

    stored = reloaded(db, message.id)
    assert (stored.status, stored.error_code) == (MessageStatus.UNDELIVERED, "30003")


MALFORMED_IDS = {
    "unknown": "m=2000000000",
    "none": "",
    "empty": "m=",
    "letters": "m=abc",
    "negative": "m=-1",
    "zero": "m=0",
    "decimal": "m=1.0",
    "arabic-digit": "m=%D9%A3",
    "superscript": "m=%C2%B2",
    "beyond-int32": "m=99999999999",
    "other-name": "x=1",
}


@pytest.mark.parametrize("query", list(MALFORMED_IDS.values()), ids=list(MALFORMED_IDS))
def test_unknown_or_malformed_ids_are_acknowledged_and_change_nothing(
    twilio_client: FlaskClient, db: Session, query: str
) -> None:
    message = add_message(db)

    assert post_receipt(twilio_client, query, receipt("delivered")) == 204

    assert reloaded(db, message.id).status == MessageStatus.QUEUED


def test_malformed_fields_never_break_the_webhook(twilio_client: FlaskClient, db: Session) -> None:
    message = add_message(db, MessageStatus.SENDING, provider_sid=None)
    form = receipt("sent", sid="SM" + "x" * 200, error_code="not-a-code" * 5)

    assert post_receipt(twilio_client, f"m={message.id}", form) == 204

    stored = reloaded(db, message.id)
    assert (stored.status, stored.provider_sid, stored.error_code) == (
        MessageStatus.SENT,
        None,
        None,
    )


def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(
    twilio_client: FlaskClient, db: Session
) -> None:
    message = add_message(db)
    query = f"m={message.id}&lang=%D8%B9%D8%B1%D8%A8%D9%8A"  # raw, as Twilio signed it
    form = receipt("delivered")
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/status?{query}", form)}

    # The proxy speaks plain HTTP to an internal address; the signature is still Twilio's.
    answer = twilio_client.post(
        f"/sms/status?{query}", data=form, headers=headers, base_url="http://10.0.0.5:8000"
    )

    assert answer.status_code == 204
    assert reloaded(db, message.id).status == MessageStatus.DELIVERED


def test_a_receipt_for_another_path_does_not_validate_here(
    twilio_client: FlaskClient, db: Session
) -> None:
    message = add_message(db)
    form = receipt("delivered")
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/ivr/voice?m={message.id}", form)}

    answer = twilio_client.post(f"/sms/status?m={message.id}", data=form, headers=headers)

    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("environment", "expected"), [(Environment.DEVELOPMENT, True), (Environment.TEST, False)]
)
def test_without_an_auth_token_only_development_accepts_webhooks(
    environment: Environment, expected: bool
) -> None:
    settings = settings_for("sqlite://", environment=environment)
    app = Flask(__name__)
    with app.test_request_context("/sms/status?m=1", method="POST", data={"MessageStatus": "sent"}):
        assert twilio_signature_valid(request, settings) is expected


def test_receipts_from_the_fake_twilio_reach_the_message(
    twilio_app: Flask,
    twilio_client: FlaskClient,
    db: Session,
    engine: Engine,
    fake_twilio: FakeTwilio,
) -> None:
    """The whole way: send through the library, Twilio calls back, the row follows."""
    message = add_message(db, MessageStatus.SENDING, provider_sid=None)
    settings = twilio_settings(engine, twilio_api_base_url=fake_twilio.url)
    backend = TwilioBackend.from_settings(settings, delays=())
    url = status_callback_url(settings, message.id)
    result = backend.send(OutgoingSms(message.id, message.phone, message.body, url))

    def post(target: str, form: dict[str, str], headers: dict[str, str]) -> int:
        return twilio_client.post(target, data=form, headers=headers).status_code

    first = fake_twilio.send_status_callbacks(PUBLIC, AUTH_TOKEN, ("sent", "delivered"), post)
    again = fake_twilio.send_status_callbacks(PUBLIC, AUTH_TOKEN, ("sent",), post)

    assert first + again == [204, 204, 204]
    stored = reloaded(db, message.id)
    assert (stored.status, stored.provider_sid) == (MessageStatus.DELIVERED, result.provider_sid)


# -- record_status itself ---------------------------------------------------------------


def test_record_status_reports_whether_anything_changed(db: Session) -> None:
    message = add_message(db, MessageStatus.SENDING, provider_sid=None)

    assert record_status(db, message.id, SID, "queued", None) is True
    assert record_status(db, message.id, SID, "queued", None) is False
    assert record_status(db, message.id, SID, " Delivered ", None) is True
    assert record_status(db, message.id, SID, "failed", "30003") is False
    assert (message.status, message.provider_sid, message.error_code) == (
        MessageStatus.DELIVERED,
        SID,
        None,
    )


def test_record_status_leaves_inbound_and_unknown_messages_alone(db: Session) -> None:
    inbound = add_message(
        db, MessageStatus.RECEIVED, provider_sid=None, direction=Direction.INBOUND
    )

    assert record_status(db, inbound.id, SID, "delivered", None) is False
    assert record_status(db, 2_000_000_000, SID, "delivered", None) is False
    assert inbound.status == MessageStatus.RECEIVED


def test_record_status_never_gives_one_provider_id_to_two_messages(db: Session) -> None:
    add_message(db, MessageStatus.QUEUED, provider_sid=SID)
    second = add_message(db, MessageStatus.SENDING, provider_sid=None)

    assert record_status(db, second.id, SID, "sent", None) is False
    db.flush()
    assert (second.status, second.provider_sid) == (MessageStatus.SENDING, None)
