"""The dialer: "take next call" rings the agent's phone into the queue, via the real `twilio`
library against the fake Twilio server; the console dialer rings nothing."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET

import pytest
from twilio.base.exceptions import TwilioRestException

from core.calls import COMPLAINT_ROOM_QUEUE
from core.phones import masked
from core.settings import Settings, SmsBackend
from hotline.dialer import ConsoleDialer, DialFailed, TwilioDialer, dialer_for, queue_twiml
from sms.gateway import OutgoingSms, PermanentSendError
from sms.twilio_backend import TwilioBackend
from tests.conftest import settings_for
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CALLS, FakeTwilio
from web.twilio_rest import make_client

AGENT = "+96171123456"
FROM = "+15005550006"
VOICE = "+15005550010"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
A_NUMBER = re.compile(r"\d{7,}")  # Twilio's codes have five digits; a phone number has more


def twilio_settings(fake: FakeTwilio, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "sms_backend": SmsBackend.TWILIO,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM,
        "twilio_voice_number": VOICE,
        "twilio_api_base_url": fake.url,
    }
    values.update(overrides)
    return settings_for("sqlite://", **values)


def dialer(fake: FakeTwilio, **overrides: object) -> TwilioDialer:
    return TwilioDialer.from_settings(twilio_settings(fake, **overrides))


@pytest.mark.parametrize(
    ("voice_number", "caller_id"), [(VOICE, VOICE), (None, FROM)], ids=["voice", "fallback"]
)
def test_the_agents_phone_is_rung_into_the_complaint_room_queue(
    fake_twilio: FakeTwilio, voice_number: str | None, caller_id: str
) -> None:
    sid = dialer(fake_twilio, twilio_voice_number=voice_number).ring_agent(AGENT)

    assert fake_twilio.requests == [("POST", CALLS_PATH)]
    [call] = fake_twilio.calls
    assert (call["sid"], call["to"], call["from"]) == (sid, AGENT, caller_id)
    assert sid.startswith("CA") and len(sid) == 34
    response = ET.fromstring(call["twiml"])
    assert [(e.tag, (e.text or "").strip()) for e in response.iter()] == [
        ("Response", ""),
        ("Dial", ""),
        ("Queue", "complaint-room"),
    ]
    assert fake_twilio.messages == []


def test_the_queue_dialled_is_the_one_the_ivr_fills() -> None:
    assert ET.fromstring(queue_twiml()).findtext("Dial/Queue") == COMPLAINT_ROOM_QUEUE


# 21211: Twilio's own message for it quotes the number, which must not come through.
@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (400, 21211)])
def test_a_refusal_raises_dial_failed_without_a_number(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture, status: int, code: int
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_twilio.fail_next(1, status=status, code=code, resource=CALLS)

    with pytest.raises(DialFailed) as caught:
        dialer(fake_twilio).ring_agent(AGENT)

    assert caught.value.code == str(code)
    assert str(code) in str(caught.value)
    assert A_NUMBER.search(str(caught.value)) is None
    assert AGENT not in caplog.text and AGENT[1:] not in caplog.text
    assert fake_twilio.create_attempts(CALLS) == 1  # never rung twice: the agent asks again
    assert fake_twilio.calls == []


def test_twilio_unreachable_raises_dial_failed(fake_twilio: FakeTwilio) -> None:
    ring = dialer(fake_twilio)
    fake_twilio.stop()

    with pytest.raises(DialFailed, match="could not be reached") as caught:
        ring.ring_agent(AGENT)

    assert A_NUMBER.search(str(caught.value)) is None
    assert caught.value.code is None


def test_a_messaging_service_alone_cannot_ring(fake_twilio: FakeTwilio) -> None:
    settings = twilio_settings(
        fake_twilio,
        twilio_voice_number=None,
        twilio_from_number=None,
        twilio_messaging_service_sid="MG" + "1" * 32,
    )
    with pytest.raises(ValueError, match="TWILIO_VOICE_NUMBER"):
        TwilioDialer.from_settings(settings)


def test_the_console_dialer_rings_nothing_and_logs_no_number(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    sid = ConsoleDialer().ring_agent(AGENT)

    assert sid.startswith("CA-console-")
    assert "ringing the agent's phone (console)" in caplog.text
    assert masked(AGENT) in caplog.text
    assert AGENT not in caplog.text and AGENT[1:] not in caplog.text
    assert fake_twilio.requests == []


def test_the_sms_backend_setting_picks_the_dialer(fake_twilio: FakeTwilio) -> None:
    assert isinstance(dialer_for(twilio_settings(fake_twilio)), TwilioDialer)
    console = twilio_settings(fake_twilio, sms_backend=SmsBackend.CONSOLE)
    assert isinstance(dialer_for(console), ConsoleDialer)


# -- the fake's Calls resource, as the real library reads it ------------------------------


def test_the_fake_lists_calls_newest_first(fake_twilio: FakeTwilio) -> None:
    ring = dialer(fake_twilio)
    first, second = ring.ring_agent(AGENT), ring.ring_agent("+96103123456")
    client = make_client(ACCOUNT_SID, AUTH_TOKEN, fake_twilio.url, 10.0)

    listed = client.calls.list(limit=10)
    assert [c.sid for c in listed] == [second, first]
    [mine] = client.calls.list(to=AGENT)
    assert (mine.sid, mine.status, mine.direction, mine._from) == (
        first,
        "queued",
        "outbound-api",
        VOICE,
    )
    assert mine.date_created is not None
    assert [c["sid"] for c in fake_twilio.calls] == [first, second]  # oldest first


def test_the_fake_refuses_a_call_without_instructions(fake_twilio: FakeTwilio) -> None:
    client = make_client(ACCOUNT_SID, AUTH_TOKEN, fake_twilio.url, 10.0)

    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to=AGENT, from_=VOICE)

    assert (caught.value.status, caught.value.code) == (400, 21200)
    assert fake_twilio.calls == []


def test_injected_failures_hit_only_their_resource(fake_twilio: FakeTwilio) -> None:
    """A failure meant for calls leaves messages alone, and one for messages (the default) calls."""
    backend = TwilioBackend.from_settings(twilio_settings(fake_twilio), delays=())
    sms = OutgoingSms(1, AGENT, "hello", status_callback=None)

    fake_twilio.fail_next(1, status=429, code=20429, resource=CALLS)
    assert backend.send(sms).status == "queued"
    with pytest.raises(DialFailed):
        dialer(fake_twilio).ring_agent(AGENT)

    fake_twilio.fail_next(1, status=400, code=21211)
    assert dialer(fake_twilio).ring_agent(AGENT).startswith("CA")
    with pytest.raises(PermanentSendError):
        backend.send(sms)
    assert (fake_twilio.create_attempts(), fake_twilio.create_attempts(CALLS)) == (2, 2)
