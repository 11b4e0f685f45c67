"""A caller on the 1766 voice line: posts what Twilio posts and follows the TwiML it gets back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.calls import Call, CallStatus
from core.db import utcnow
from tests.plugins.fake_twilio import ACCOUNT_SID
from tests.support.twilio_requests import HOTLINE, PUBLIC, post_signed

CALLER = "+9613123456"  # the mobile on the test household's form (03 123 456)
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "1" * 32
VOICES = {
    "ar": ("Polly.Zeina", "arb"),
    "en": ("Polly.Joanna", "en-US"),
    "fr": ("Polly.Celine", "fr-FR"),
}
LANGUAGE_KEYS = {"ar": "1", "en": "2", "fr": "3"}


@dataclass
class Phone:
    """One call to 1766: posts what Twilio would post, and follows the TwiML it gets back."""

    client: FlaskClient
    number: str = CALLER
    sid: str = "CA" + "1" * 32
    last: ET.Element = field(default_factory=lambda: ET.Element("Response"))

    def post(self, url: str, digits: str | None = None, **fields: str) -> Any:
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "From": self.number,
            "To": HOTLINE,
        }
        if digits is not None:
            form["Digits"] = digits
        form.update(fields)
        return post_signed(self.client, url.removeprefix(PUBLIC), form)

    def hear(self, url: str, digits: str | None = None, **fields: str) -> ET.Element:
        response = self.post(url, digits, **fields)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        self.last = ET.fromstring(response.data)
        return self.last

    def dial(self) -> ET.Element:
        return self.hear("/ivr/voice")

    def press(self, digits: str) -> ET.Element:
        """Key `digits` at the current Gather ("" is silence: Twilio still calls the action)."""
        return self.hear(action(self.last), digits)

    def choose(self, language: str, *keys: str) -> ET.Element:
        """Dial, pick the language, then press `keys` one prompt after the other."""
        self.dial()
        self.press(LANGUAGE_KEYS[language])
        for key in keys:
            self.press(key)
        return self.last

    def record(self, recording_url: str | None = RECORDING) -> ET.Element:
        """Finish a <Record>: its action with the recording, or its fallback with none."""
        if recording_url is None:
            return self.hear(redirect(self.last))
        return self.hear(record_action(self.last), RecordingUrl=recording_url)


def action(twiml: ET.Element) -> str:
    gather = twiml.find(".//Gather")
    assert gather is not None, ET.tostring(twiml, encoding="unicode")
    assert gather.get("actionOnEmptyResult") == "true"
    return gather.get("action", "")


def record_action(twiml: ET.Element) -> str:
    record = twiml.find("./Record")
    assert record is not None, ET.tostring(twiml, encoding="unicode")
    return record.get("action", "")


def redirect(twiml: ET.Element) -> str:
    target = twiml.find("./Redirect")
    assert target is not None, ET.tostring(twiml, encoding="unicode")
    return target.text or ""


def queued_call(db: Session, sid: str = "CA" + "1" * 32, phone: str = CALLER) -> Call:
    call = Call(
        call_sid=sid,
        direction="inbound",
        phone=phone,
        language="ar",
        status=CallStatus.QUEUED,
        started_at=utcnow(),
        queued_at=utcnow(),
    )
    db.add(call)
    db.commit()
    return call
