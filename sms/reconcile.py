"""`sms reconcile`: the backstop against a lost buffer, read from the provider's message log.

Twilio keeps every SMS it delivered to our numbers, whether or not our webhook took it in. A
message the buffer lost (Redis flushed, or a crash inside its last second of writes) or that
never reached it (the webhook refused and no fallback stored it) is still in Twilio's log:
this reads the inbound messages of a window from it and writes each MessageSid the store has
neither decided nor kept to the inbox (`core.inbox`), from which the consumers decide it once.

Twilio's log is read a page at a time and each page is checked and kept in a short
transaction of its own, so the store is never held open while Twilio is asked, and a run cut
short keeps what it ingested (running it again is always safe: a MessageSid is kept once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import Any

import requests
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from core import inbox
from core.inbox import RawSms
from core.settings import Settings
from web.twilio_rest import make_client

PAGE_SIZE = 1000  # records per request to Twilio's list: the most it serves in one page
LIMIT = 100_000  # records read in one run at most, newest first (100 requests)
HTTP_TIMEOUT = 30.0  # seconds per page: a page of 1,000 can take Twilio a few seconds
SOURCE = "reconcile"  # pending_sms.source of what this finds

UnitOfWork = Callable[[], AbstractContextManager[Session]]


class LogUnreachable(Exception):
    """Twilio's message log could not be read (network, credentials, or Twilio itself)."""


class NotOnTwilio(Exception):
    """The service is not configured for Twilio, so there is no provider's log to read."""


@dataclass(frozen=True)
class Report:
    found: int  # inbound messages to our numbers in the window, in Twilio's log
    known: int  # of those, already decided or waiting in the inbox
    ingested: int  # written to the inbox by this run
    limited: bool  # the run stopped at `limit` records: older ones in the window were not read


@dataclass(frozen=True)
class MessageLog:
    """Where our inbound SMS are in Twilio's log: the numbers they were sent to, or the
    Messaging Service they came through when no number is configured."""

    client: Client
    numbers: tuple[str, ...]
    messaging_service_sid: str | None

    @classmethod
    def from_settings(
        cls, settings: Settings, numbers: Sequence[str] = (), timeout: float = HTTP_TIMEOUT
    ) -> MessageLog:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise NotOnTwilio("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
        ours = tuple(numbers) or _our_numbers(settings)
        if not (ours or settings.twilio_messaging_service_sid):
            raise NotOnTwilio("neither TWILIO_FROM_NUMBER nor TWILIO_MESSAGING_SERVICE_SID is set")
        client = make_client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            timeout,
        )
        return cls(client, ours, settings.twilio_messaging_service_sid)

    def read(self, since: datetime, limit: int, page_size: int) -> Reading:
        """The inbound SMS to us sent at or after `since`, newest first; `limit` records in all."""
        return Reading(self, since.astimezone(UTC), limit, page_size)

    def raw(self, record: Any, after: datetime) -> RawSms | None:
        """The record as a raw inbound SMS of ours, or None."""
        if str(record.direction) != "inbound":
            return None
        if not self.numbers and record.messaging_service_sid != self.messaging_service_sid:
            return None
        at = record.date_sent or record.date_created
        if at is None or at < after:  # DateSent> may be read by the day: filter again here
            return None
        return RawSms(str(record.sid), record.from_ or "", record.to or "", record.body or "", at)


class Reading:
    """An iterator over one read of the log: a `RawSms` per record that is one of ours, None
    per record that is not (outbound, or another service's); `truncated` once `limit` records
    were read before the window's end. Raises `LogUnreachable`."""

    def __init__(self, log: MessageLog, after: datetime, limit: int, page_size: int) -> None:
        self.truncated = False
        self._items = self._records(log, after, limit, page_size)

    def __iter__(self) -> Iterator[RawSms | None]:
        return self._items

    def _records(
        self, log: MessageLog, after: datetime, limit: int, page_size: int
    ) -> Iterator[RawSms | None]:
        remaining = limit
        for to in log.numbers or (None,):
            # The library formats the filter's datetime as UTC without converting it.
            filters: dict[str, Any] = {"date_sent_after": after}
            if to is not None:
                filters["to"] = to
            read = partial(log.client.messages.stream, limit=remaining, page_size=page_size)
            for record in _guarded(partial(read, **filters)):
                remaining -= 1
                yield log.raw(record, after)
            if remaining <= 0:
                self.truncated = True
                return


def _our_numbers(settings: Settings) -> tuple[str, ...]:
    """The numbers citizens text: the SMS sender, and the voice number if it is another."""
    numbers = (settings.twilio_from_number, settings.twilio_voice_number)
    return tuple(dict.fromkeys(n for n in numbers if n))


def _guarded(records: Callable[[], Iterable[Any]]) -> Iterator[Any]:
    """What `records()` yields (it fetches the first page at once, the next ones as they are
    read), with any failure to read Twilio turned into `LogUnreachable`.

    The text names only the kind of failure: Twilio's own messages and the library's URLs
    carry the query, whose `To=` is a number.
    """
    try:
        yield from records()
    except TwilioException as exc:
        raise LogUnreachable(f"Twilio refused to list messages ({_refusal(exc)})") from None
    except requests.RequestException as exc:
        raise LogUnreachable(f"Twilio could not be reached ({type(exc).__name__})") from None


def _refusal(exc: TwilioException) -> str:
    """`HTTP 500, code 20500` from a refused page (the library raises it with the response)."""
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(exc, "status", None) or getattr(response, "status_code", None)
    code = getattr(exc, "code", None)
    if code is None and response is not None:
        try:
            code = json.loads(response.text).get("code")
        except (ValueError, AttributeError):
            code = None
    return f"HTTP {status}, code {code}" if status else type(exc).__name__


def reconcile(
    log: MessageLog,
    unit_of_work: UnitOfWork,
    since: datetime,
    *,
    limit: int = LIMIT,
    page_size: int = PAGE_SIZE,
) -> Report:
    """Ingest every inbound SMS of Twilio's log since `since` that the store lacks."""
    found = ingested = 0
    reading = log.read(since, limit, page_size)
    records = iter(reading)
    while batch := list(islice(records, page_size)):
        messages = {raw.sid: raw for raw in batch if raw is not None}
        if not messages:
            continue  # a page of outbound messages (a listing by Messaging Service)
        with unit_of_work() as session:
            have = inbox.known(session, list(messages))
            lacking = [raw for raw in messages.values() if raw.sid not in have]
            ingested += inbox.keep_all(session, lacking, SOURCE)  # one page: one INSERT
        found += len(messages)  # one kept meanwhile by the webhook's fallback counts as known
    return Report(found, found - ingested, ingested, limited=reading.truncated)
