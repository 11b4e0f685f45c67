"""Ringing an agent's own phone to take the next caller from the complaint room's queue.

"Take next call" asks Twilio's REST API to call the agent's phone with the TwiML
`<Dial><Queue>complaint-room</Queue></Dial>`: when the agent picks up, Twilio bridges them to
the caller at the front of the queue the IVR put callers in (`COMPLAINT_ROOM_QUEUE`). Agents
keep the phones they have; the console needs no audio, softphone or JavaScript.

Which dialer: `dialer_for(settings)` gives the Twilio one when `SMS_BACKEND` is `twilio` (the
same account, credentials and `TWILIO_API_BASE_URL` as the SMS gateway), and the console one
otherwise. One setting decides both, so a laptop that prints its SMS never rings a real phone,
and a production service never pretends to ring one.

A failed ring is not retried here: after a timeout Twilio may already be ringing the phone, and
the agent, who is at the console, simply asks again. Phone numbers never reach `logging` or an
exception's text: Twilio's own error messages quote the number, so `DialFailed` says only the
HTTP status and Twilio's error code.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from core.calls import COMPLAINT_ROOM_QUEUE
from core.phones import masked
from core.settings import Settings, SmsBackend
from web.twilio_rest import make_client

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10.0  # seconds, connect and read: the agent is waiting for the page to answer


class DialFailed(Exception):
    """Twilio did not place the call; the text has Twilio's code at most, never a number."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.code = code


class Dialer(Protocol):
    """What "take next call" needs: ring an agent's phone into the complaint room's queue."""

    def ring_agent(self, agent_phone: str) -> str:
        """Ring `agent_phone` (E.164); the call's SID. Raises `DialFailed`."""
        ...


def queue_twiml() -> str:
    """The instructions of the agent's call: join the caller at the front of the queue."""
    response = VoiceResponse()
    response.dial().queue(COMPLAINT_ROOM_QUEUE)
    return str(response)


class TwilioDialer:
    """A `Dialer` over Twilio's Calls resource."""

    def __init__(self, client: Client, from_number: str) -> None:
        self._client = client
        self._from = from_number

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = HTTP_TIMEOUT) -> TwilioDialer:
        """Calls come from TWILIO_VOICE_NUMBER, else from the SMS sender's TWILIO_FROM_NUMBER."""
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("the Twilio dialer needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        from_number = settings.twilio_voice_number or settings.twilio_from_number
        if not from_number:
            # A Messaging Service sends SMS without a number; a call needs one.
            raise ValueError("the Twilio dialer needs TWILIO_VOICE_NUMBER or TWILIO_FROM_NUMBER")
        client = make_client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            timeout,
        )
        return cls(client, from_number)

    def ring_agent(self, agent_phone: str) -> str:
        try:
            call = self._client.calls.create(to=agent_phone, from_=self._from, twiml=queue_twiml())
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _refusal(exc) from None
        except (TwilioException, requests.RequestException) as exc:
            # Neither text is ours to repeat: a URL or Twilio's message may hold the number.
            raise DialFailed(f"Twilio could not be reached: {type(exc).__name__}") from None
        log.info("ringing the agent's phone %s: call %s", masked(agent_phone), call.sid)
        return str(call.sid)


def _refusal(exc: TwilioRestException | TwilioServiceException) -> DialFailed:
    """Twilio's status and code only: its message quotes the number it refused to call."""
    code = None if exc.code is None else str(exc.code)
    return DialFailed(f"Twilio refused the call: HTTP {exc.status}, code {code}", code)


class ConsoleDialer:
    """A `Dialer` for development: it logs the ring (number masked) and rings nothing."""

    def ring_agent(self, agent_phone: str) -> str:
        sid = f"CA-console-{secrets.token_hex(8)}"
        log.info("ringing the agent's phone (console): %s, call %s", masked(agent_phone), sid)
        return sid


def dialer_for(settings: Settings) -> Dialer:
    """Twilio's dialer when SMS go through Twilio, the console's otherwise (see above)."""
    if settings.sms_backend is SmsBackend.TWILIO:
        return TwilioDialer.from_settings(settings)
    return ConsoleDialer()
