"""A family on `/status`: asks for a code with its reference, reads the SMS, types the code."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.plugins.fake_twilio import FakeTwilio

CODE_IN_SMS = re.compile(r"\b([0-9]{6})\b", re.ASCII)


def ask_code(client: FlaskClient, reference: str, lang: str = "en") -> TestResponse:
    return client.post("/status", data={"reference": reference, "lang": lang})


def open_status(client: FlaskClient, reference: str, code: str, lang: str = "en") -> TestResponse:
    return client.post("/status", data={"reference": reference, "code": code, "lang": lang})


def codes_texted(fake: FakeTwilio, phone: str) -> list[str]:
    """Every code the fake Twilio carried to `phone`, oldest first."""
    found = []
    for message in fake.messages:
        if message.get("to") == phone:
            match = CODE_IN_SMS.search(str(message.get("body", "")))
            if match:
                found.append(match.group(1))
    return found


def last_code(fake: FakeTwilio, phone: str) -> str:
    codes = codes_texted(fake, phone)
    assert codes, f"no code was texted to {phone}"
    return codes[-1]
