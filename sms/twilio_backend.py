"""The Twilio gateway: the official `twilio` library, short retries, and no double sends.

Every failure is sorted into what the caller must do: try again in a moment (rate limit,
Twilio or network trouble), later once an operator has looked (our credentials or sender), or
never (the number). A failure after which Twilio may nevertheless have accepted the message
(a read timeout, a dropped connection, a 5xx) is checked with `find_sent` before anything is
sent again.

Nothing personal goes to `logging` or into our exceptions' text: Twilio's own error messages
quote the recipient's number, and its HTTP client logs query strings (`To=`) at INFO, so the
client comes from `web.twilio_rest.make_client`, with a logger of its own kept at WARNING.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from core.settings import Settings
from sms.gateway import (
    OutgoingSms,
    Pacer,
    PermanentSendError,
    RateLimitedError,
    RetryableSendError,
    SendError,
    SendResult,
    UncertainSendError,
)
from web.twilio_rest import make_client

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0)  # seconds between the attempts of one send; then the outbox
HTTP_TIMEOUT = 10.0  # seconds, connect and read: well inside an RQ job, far above Twilio's norm
RATE_LIMITED_RETRY = 30.0  # seconds before a message refused for rate every time goes again
TWILIO_API = "https://api.twilio.com"
FIND_LIMIT = 50  # newest messages to one number looked through when reconciling
CLOCK_SKEW = timedelta(minutes=1)  # our clock against Twilio's date_created

# Twilio error codes that mean "not now": rate limited, queue full, queue overflow.
TRANSIENT_CODES = frozenset({"20429", "21611", "30001"})
# Codes about our own account or sender, not the message: retry once an operator has fixed it.
SERVICE_CODES = frozenset({"20003", "20005", "20404", "21212", "21606"})


class Failure(StrEnum):
    """What a refusal from Twilio tells the caller to do."""

    TRANSIENT = "transient"  # try again after a short pause
    SERVICE = "service"  # our account or configuration: later, not within this send
    RECIPIENT = "recipient"  # this message can never be sent (bad number, opted out, …)


def classify(status: int, code: str | None) -> Failure:
    """Sort an HTTP status and Twilio error code into what to do next."""
    if status == 429 or status >= 500 or code in TRANSIENT_CODES:
        return Failure.TRANSIENT
    if status in (401, 403, 404) or code in SERVICE_CODES:
        return Failure.SERVICE
    return Failure.RECIPIENT


class TwilioBackend:
    """A `Gateway` over Twilio's Messages resource."""

    def __init__(
        self,
        client: Client,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        pace: Pacer | None = None,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("a sender is needed: from_number or messaging_service_sid")
        self._client = client
        # A Messaging Service picks the sender (an alphanumeric one where Lebanon needs it).
        self._sender = (
            {"messaging_service_sid": messaging_service_sid}
            if messaging_service_sid
            else {"from_": from_number}
        )
        self._delays = tuple(delays)  # one more attempt than pauses
        self._sleep = sleep
        self._pace = pace  # with Redis: the sender's rate, shared by every worker

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = HTTP_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        pace: Pacer | None = None,
    ) -> TwilioBackend:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("the Twilio backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        client = make_client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            timeout,
        )
        _read_environment_once(client, settings.twilio_api_base_url or TWILIO_API)
        return cls(
            client,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            delays=delays,
            sleep=sleep,
            pace=pace,
        )

    def send(self, sms: OutgoingSms) -> SendResult:
        # The machine's own time, not the service clock: it is compared with the provider's
        # timestamps when an answer was lost (find_sent), never with a programme date.
        started = datetime.now(UTC)
        error: SendError = RetryableSendError("no attempt was made")
        rate_limited = False
        for attempt, pause in enumerate((*self._delays, 0.0), start=1):
            if attempt > 1:
                log.info("SMS %s: attempt %d after code %s", sms.message_id, attempt, error.code)
            try:
                return self._create_in_turn(sms)
            except (TwilioRestException, TwilioServiceException) as exc:
                error = _refusal(exc)
                if classify(exc.status, error.code) is not Failure.TRANSIENT:
                    raise error from None
                if rate_limited := _is_rate_limit(exc):
                    self._wait_after_rate_limit(pause)
                    continue
                maybe_accepted = exc.status >= 500
            except requests.RequestException as exc:
                error, maybe_accepted = _network_error(exc), _may_have_arrived(exc)
                rate_limited = False
            if maybe_accepted and (found := self._reconcile(sms, started)) is not None:
                return found
            self._sleep(pause)
        if rate_limited:
            raise RateLimitedError(str(error), error.code, RATE_LIMITED_RETRY)
        raise error

    def _create_in_turn(self, sms: OutgoingSms) -> SendResult:
        if self._pace is not None:
            self._pace.wait_turn()
        return self._create(sms)

    def _wait_after_rate_limit(self, pause: float) -> None:
        """Shared with every worker when there is a pacer (the next turn waits it out)."""
        if self._pace is not None:
            self._pace.back_off(pause)
        else:
            self._sleep(pause)

    def _create(self, sms: OutgoingSms) -> SendResult:
        created = self._client.messages.create(
            to=sms.to, body=sms.body, status_callback=sms.status_callback, **self._sender
        )
        return SendResult(provider_sid=str(created.sid), status=str(created.status))

    def _reconcile(self, sms: OutgoingSms, started: datetime) -> SendResult | None:
        """After an ambiguous failure: Twilio's record if it took the message, else None."""
        try:
            sid = self.find_sent(sms.to, sms.body, started)
        except RetryableSendError:
            raise UncertainSendError("Twilio may have the message and cannot be asked") from None
        if sid is None:
            return None
        log.info("SMS %s: found accepted after an ambiguous failure", sms.message_id)
        return SendResult(provider_sid=sid, status="queued")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        # No DateSent> filter: a message still queued at Twilio has no date_sent yet, and it is
        # exactly the one a dead worker may have left. date_created is compared here instead.
        earliest = since.astimezone(UTC) - CLOCK_SKEW
        try:
            recent = self._client.messages.list(to=to, limit=FIND_LIMIT, page_size=FIND_LIMIT)
        except (TwilioException, requests.RequestException) as exc:
            raise RetryableSendError(
                f"Twilio could not be asked ({type(exc).__name__})", _code_of(exc)
            ) from None
        for message in recent:
            created = message.date_created
            if message.body == body and created is not None and created >= earliest:
                return str(message.sid)
        return None


def _read_environment_once(client: Client, base_url: str) -> None:
    """Proxies and CA bundle from the environment, read once here instead of at every request
    (requests scans the whole environment per request: a tenth of a sender's CPU)."""
    session = getattr(client.http_client, "session", None)
    if not isinstance(session, requests.Session):
        return
    client.http_client.proxy = requests.utils.get_environ_proxies(base_url)  # type: ignore[attr-defined]
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    session.verify = bundle or True
    session.trust_env = False


def _is_rate_limit(exc: TwilioRestException | TwilioServiceException) -> bool:
    return exc.status == 429 or _code_of(exc) == "20429"


def _code_of(exc: Exception) -> str | None:
    code = getattr(exc, "code", None)
    return None if code is None else str(code)


def _refusal(exc: TwilioRestException | TwilioServiceException) -> SendError:
    """Our exception for a Twilio refusal; its text never quotes Twilio's (it names the number)."""
    code = _code_of(exc)
    failure = classify(exc.status, code)
    text = f"Twilio refused the message: HTTP {exc.status}, code {code} ({failure})"
    if failure is Failure.RECIPIENT:
        return PermanentSendError(text, code)
    return RetryableSendError(text, code)


def _network_error(exc: requests.RequestException) -> SendError:
    # The exception's own text holds the URL, whose query may carry a number.
    return RetryableSendError(f"Twilio unreachable: {type(exc).__name__}")


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """Whether Twilio may have received the request (so may have accepted the message)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # Refused, unresolvable or timed out while connecting: not one byte reached Twilio.
    return not isinstance(reason, ConnectTimeoutError)
