"""A citizen texting 1766, as Twilio posts each SMS, and the replies that come back."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from core.messages import Message
from core.sms_policy import OPT_CHOICE_PURPOSE
from tests.plugins.fake_twilio import ACCOUNT_SID, FakeTwilio
from tests.support.twilio_requests import HOTLINE, post_signed

CITIZEN = "+9613123456"
HELP = (
    "1766: send LINK for a form, STATUS and your reference, COMPLAINT and your text, "
    "or STOP to receive no more messages. Or call 1766."
)

_sids = itertools.count(1)


def inbound_form(body: str, phone: str = CITIZEN, sid: str | None = None) -> dict[str, str]:
    """The fields Twilio posts for one inbound SMS."""
    return {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": ACCOUNT_SID,
        "From": phone,
        "To": HOTLINE,
        "Body": body,
        "NumSegments": "1",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }


def accepted(answer: TestResponse) -> None:
    """The webhook's answer: 200 and an empty TwiML `<Response/>` (the reply is an SMS)."""
    assert answer.status_code == 200
    assert answer.mimetype in ("text/xml", "application/xml")
    root = ET.fromstring(answer.data)
    assert root.tag == "Response"
    assert list(root) == []


def replies_since(client: FlaskClient, before: int) -> list[str]:
    """The replies (not links, ticket numbers or pushed statuses) that reached the fake Twilio
    since it had `before` messages: those the store owed as a reply to an SMS."""
    fake: FakeTwilio = client.application.extensions["test.fake_twilio"]
    factory = client.application.extensions["intake.sessionmaker"]
    new = fake.messages[before:]
    with factory() as session:
        kinds = dict(
            session.execute(
                select(Message.provider_sid, Message.purpose).where(
                    Message.provider_sid.in_([m["sid"] for m in new])
                )
            ).all()
        )
    answers = [m for m in new if kinds.get(m["sid"]) in ("reply", OPT_CHOICE_PURPOSE)]
    _REPLY_SIDS.update(m["sid"] for m in answers)
    return [m["body"] for m in answers]


_REPLY_SIDS: set[str] = set()  # every reply `text` saw: `others` leaves them out


def others(fake_twilio: FakeTwilio) -> list[dict[str, str]]:
    """The SMS that reached the fake Twilio other than replies: links, ticket numbers,
    statuses pushed to a family's phone."""
    return [m for m in fake_twilio.messages if m["sid"] not in _REPLY_SIDS]


def text(client: FlaskClient, body: str, phone: str = CITIZEN, sid: str | None = None) -> list[str]:
    """Send an SMS to 1766; the replies that come back to the sender's phone."""
    fake: FakeTwilio = client.application.extensions["test.fake_twilio"]
    before = len(fake.messages)
    accepted(post_signed(client, "/sms/inbound", inbound_form(body, phone, sid)))
    return replies_since(client, before)
