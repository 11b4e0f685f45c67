"""A fake Twilio REST API on loopback, so tests drive the real `twilio` library and never Twilio.

It speaks the parts of the 2010-04-01 API the service uses, form-encoded with HTTP basic auth,
in Twilio's JSON shapes as twilio 9.x reads them:

- Messages: create, and list with the filters `To`, `From`, `DateSent`, `DateSent<`,
  `DateSent>`, paged as Twilio pages (`PageSize`, `Page`, `PageToken`, `next_page_uri`),
  newest first. Like Twilio, a message has no `date_sent` until it has left the queue
  (`sent`); `send_status_callbacks` plays Twilio's signed delivery receipts back to the app.
  The list is the account's whole log: the messages created through the API and the inbound
  ones a test delivers with `receive` (direction `inbound`, status `received`), which is what
  `sms reconcile` reads back.
- Calls: create (`To`, `From`, and `Twiml`, `Url` or `ApplicationSid`; the call stays
  `queued`, nothing is dialled), and list with the filters `To`, `From`, `Status`, `PageSize`.
- Recordings: any `RE…` id's MP3 is served until it is deleted (`DELETE …/Recordings/RE….json`,
  204; then 404 for it, as Twilio answers); `deleted_recordings` lists what was deleted.

Failures are injected on demand, per resource (`fail_next(..., resource=CALLS)`).

Register the fixture for the whole suite with `pytest_plugins = ["tests.plugins.fake_twilio"]` in
conftest.py, or import it where used: `from tests.plugins.fake_twilio import fake_twilio_fixture`
(the fixture is named `fake_twilio`; the function's other name keeps the import from being
shadowed by the test parameters that use it).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from core.segments import segments

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
API_VERSION = "2010-04-01"
MESSAGES = "messages"
CALLS = "calls"
RECORDINGS = "recordings"  # only for `fail_next(..., method="DELETE", resource=RECORDINGS)`
_RESOURCE_FILES = {"Messages.json": MESSAGES, "Calls.json": CALLS}
# Our bookkeeping beside Twilio's fields: what was posted but the API never shows back.
_PRIVATE_FIELDS = frozenset({"status_callback", "twiml", "url"})

# Twilio's error texts for the codes tests inject (the real ones quote the number, too).
ERROR_MESSAGES = {
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21200: "Either a 'Url', 'Twiml' or 'ApplicationSid' parameter is required",
    21201: "No 'To' number is specified",
    21211: "The 'To' number {to} is not a valid phone number.",
    21213: "Caller phone number is required",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
}

# A callback poster: (url, form, headers) -> HTTP status. The default posts over HTTP.
Poster = Callable[[str, dict[str, str], dict[str, str]], int]


@dataclass
class _Failure:
    method: str
    status: int
    code: int
    resource: str = MESSAGES


class FakeTwilio:
    """The fake server; a context manager, started on a free loopback port."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._calls: list[dict[str, Any]] = []
        self._requests: list[tuple[str, str]] = []
        self._failures: list[_Failure] = []
        self._delays: list[float] = []
        self.deleted_recordings: set[str] = set()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering (the port then refuses connections); safe to call twice."""
        self._stopping.set()  # cuts any delayed response short
        if self._thread is not None and self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake Twilio server was never started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- what tests read ----------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message accepted so far, oldest first (copies); not the inbound ones."""
        with self._lock:
            return [dict(message) for message in self._messages if not _is_inbound(message)]

    @property
    def inbound(self) -> list[dict[str, Any]]:
        """Every message delivered with `receive`, oldest first (copies)."""
        with self._lock:
            return [dict(message) for message in self._messages if _is_inbound(message)]

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every call accepted so far, oldest first (copies), each with its posted `twiml`."""
        with self._lock:
            return [dict(call) for call in self._calls]

    def received_bodies(self) -> list[str]:
        return [message["body"] for message in self.messages]

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request that reached the server, answered or not."""
        with self._lock:
            return list(self._requests)

    def create_attempts(self, resource: str = MESSAGES) -> int:
        """How many times a message (or call) creation was asked for, refused ones included."""
        return sum(
            1
            for method, path in self.requests
            if method == "POST" and _resource_of(path) == resource
        )

    # -- failure injection --------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        code: int = 20429,
        method: str = "POST",
        resource: str = MESSAGES,
    ) -> None:
        """Refuse the next `n` requests of `method` to the resource with Twilio's error JSON.

        `resource` is `MESSAGES` (Messages.json, the default) or `CALLS` (Calls.json).
        """
        if resource not in (*_RESOURCE_FILES.values(), RECORDINGS):
            raise ValueError(f"unknown resource {resource!r}")
        with self._lock:
            self._failures += [_Failure(method, status, code, resource) for _ in range(n)]

    def delay_next(self, seconds: float) -> None:
        """Record the next message at once but answer only after `seconds`.

        Simulates a sender that gave up (timeout, killed worker) while Twilio had the message.
        """
        with self._lock:
            self._delays.append(seconds)

    # -- Twilio's side of delivery ------------------------------------------------------

    def receive(
        self,
        from_: str,
        to: str,
        body: str,
        *,
        messaging_service_sid: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """Log an SMS from `from_` to our number `to` as Twilio's log keeps one; its MessageSid.

        Only the log: nothing is posted to the app (a test posts the webhook itself, or not,
        which is the buffer-lost case `sms reconcile` is for). `at` backdates it (aware).
        """
        moment = _rfc2822(at or datetime.now(UTC))
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": to,
            "from": from_,
            "messaging_service_sid": messaging_service_sid,
            "body": body,
            "status": "received",
            "num_segments": "1",
            "num_media": "0",
            "direction": "inbound",
            "date_created": moment,
            "date_updated": moment,
            "date_sent": moment,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
        }
        with self._lock:
            self._messages.append(message)
        return sid

    def send_status_callbacks(
        self,
        app_base_url: str,
        auth_token: str,
        statuses: Iterable[str] = ("sent", "delivered"),
        post: Poster | None = None,
    ) -> list[int]:
        """POST a signed receipt per status to each message's StatusCallback; the HTTP statuses.

        The signature covers the StatusCallback URL (what Twilio signs); the request goes to
        the same path and query under `app_base_url` (where the app really listens).
        """
        answers = []
        for status in statuses:
            for message in self._advance_all(status):
                callback = message.get("status_callback")
                if not callback:
                    continue
                form = _receipt(message, status)
                signature = RequestValidator(auth_token).compute_signature(callback, form)
                parts = urlsplit(callback)
                target = (
                    app_base_url.rstrip("/")
                    + parts.path
                    + (f"?{parts.query}" if parts.query else "")
                )
                answers.append(
                    (post or _http_post)(target, form, {"X-Twilio-Signature": signature})
                )
        return answers

    def _advance_all(self, status: str) -> list[dict[str, Any]]:
        now = _rfc2822(datetime.now(UTC))
        with self._lock:
            outbound = [m for m in self._messages if not _is_inbound(m)]
            for message in outbound:
                message["status"] = status
                message["date_updated"] = now
                if status == "sent" and message["date_sent"] is None:
                    message["date_sent"] = now
            return [dict(message) for message in outbound]

    # -- the API, called by the handler ----------------------------------------------------

    def _log(self, method: str, path: str) -> None:
        with self._lock:
            self._requests.append((method, path))

    def _take_failure(self, method: str, resource: str) -> _Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if (failure.method, failure.resource) == (method, resource):
                    return self._failures.pop(index)
        return None

    def _take_delay(self) -> float:
        with self._lock:
            return self._delays.pop(0) if self._delays else 0.0

    def _create_message(self, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""),
            "status": "accepted" if "MessagingServiceSid" in form else "queued",
            "num_segments": str(segments(form.get("Body", ""))[1]),
            "num_media": "0",
            "direction": "outbound-api",
            "date_created": _rfc2822(now),
            "date_updated": _rfc2822(now),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "status_callback": form.get("StatusCallback"),
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
        }
        with self._lock:
            self._messages.append(message)
        return dict(message)

    def _list_messages(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            found = [dict(m) for m in reversed(self._messages) if _matches(m, query)]
        return _page("messages", "Messages", self.account_sid, found, query)

    def _create_call(self, form: dict[str, str]) -> dict[str, Any]:
        now = _rfc2822(datetime.now(UTC))
        sid = "CA" + secrets.token_hex(16)
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}"
        call = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "parent_call_sid": None,
            "to": form.get("To"),
            "to_formatted": form.get("To"),
            "from": form.get("From"),
            "from_formatted": form.get("From"),
            "phone_number_sid": None,
            "status": "queued",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "answered_by": None,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{base}.json",
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "payments": f"{base}/Payments.json",
                "events": f"{base}/Events.json",
            },
            "twiml": form.get("Twiml"),
            "url": form.get("Url"),
            "status_callback": form.get("StatusCallback"),
        }
        with self._lock:
            self._calls.append(call)
        return dict(call)

    def _list_calls(self, query: dict[str, str]) -> dict[str, Any]:
        wanted = {field: query[key] for key, field in _CALL_FILTERS.items() if key in query}
        with self._lock:
            found = [
                dict(c)
                for c in reversed(self._calls)
                if all(c[field] == value for field, value in wanted.items())
            ]
        return _page("calls", "Calls", self.account_sid, found, query)


# The Calls list's filters the fake understands: query parameter -> field.
_CALL_FILTERS = {"To": "to", "From": "from", "Status": "status"}


def _page(
    key: str, file: str, account_sid: str, found: list[dict[str, Any]], query: dict[str, str]
) -> dict[str, Any]:
    """One page of a 2010-04-01 list (`found` is newest first), in Twilio's paging shape.

    As Twilio: `PageSize` (default 50, at most 1000), `Page` (from 0), and `PageToken`
    (`PA` + the last sid of the previous page, so that records arriving while a client pages
    do not shift the pages it has yet to read); `next_page_uri` carries the filters on.
    """
    page_size = max(1, min(int(query.get("PageSize", "50")), 1000))
    page = int(query.get("Page", "0"))
    start = page * page_size
    token = query.get("PageToken", "")
    sids = [item["sid"] for item in found]
    if token.startswith("PA") and token[2:] in sids:
        start = sids.index(token[2:]) + 1
    items = found[start : start + page_size]
    uri = f"/{API_VERSION}/Accounts/{account_sid}/{file}.json"
    filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def page_uri(number: int, after: str | None = None) -> str:
        params = {**filters, "PageSize": str(page_size), "Page": str(number)}
        if after is not None:
            params["PageToken"] = "PA" + after
        return f"{uri}?{urlencode(params)}"

    more = start + page_size < len(found)
    return {
        key: [_public(item) for item in items],
        "end": start + len(items) - 1,
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1, items[-1]["sid"]) if more and items else None,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "page": page,
        "page_size": page_size,
        "start": start,
        "uri": page_uri(page, token[2:] if token.startswith("PA") else None),
    }


def _is_inbound(message: dict[str, Any]) -> bool:
    return bool(message.get("direction") == "inbound")


def _missing_call_parameter(form: dict[str, str]) -> int | None:
    """Twilio's code for a call request it would refuse outright, or None."""
    if not form.get("To"):
        return 21201
    if not form.get("From"):
        return 21213
    if not any(form.get(key) for key in ("Twiml", "Url", "ApplicationSid")):
        return 21200
    return None


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows stderr of failing tests

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            fake._log("POST", path)
            length = int(self.headers.get("Content-Length") or 0)
            form = _single(
                parse_qs(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
            )
            resource = self._admitted(path)
            if resource is None:
                return
            failure = fake._take_failure("POST", resource)
            if failure is not None:
                self._error(failure.status, failure.code, form.get("To", ""))
                return
            if resource == CALLS:
                self._answer_call(form)
                return
            created = fake._create_message(form)
            delay = fake._take_delay()
            if delay and fake._stopping.wait(delay):
                return  # stopped while "in flight": the sender never hears back
            self._json(201, _public(created))

        def _answer_call(self, form: dict[str, str]) -> None:
            code = _missing_call_parameter(form)
            if code is not None:
                self._error(400, code, form.get("To", ""))
                return
            self._json(201, _public(fake._create_call(form)))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake._log("GET", parts.path)
            if _RECORDING.fullmatch(parts.path):
                self._recording(parts.path)
                return
            resource = self._admitted(parts.path)
            if resource is None:
                return
            failure = fake._take_failure("GET", resource)
            if failure is not None:
                self._error(failure.status, failure.code, "")
                return
            query = _single(parse_qs(parts.query, keep_blank_values=True))
            listed = fake._list_calls(query) if resource == CALLS else fake._list_messages(query)
            self._json(200, listed)

        def do_DELETE(self) -> None:
            path = urlsplit(self.path).path
            fake._log("DELETE", path)
            if not _RECORDING_RESOURCE.fullmatch(path):
                self._json(404, _error_body(20404, "The requested resource was not found", 404))
                return
            failure = fake._take_failure("DELETE", RECORDINGS)
            if failure is not None:
                self._error(failure.status, failure.code, "")
                return
            self._recording(path, delete=True)

        def _recording(self, path: str, delete: bool = False) -> None:
            """A recording's MP3, as Twilio serves it to the account's credentials; or gone."""
            recording = path.rsplit("/", 1)[1].split(".")[0]
            if path.split("/")[3] != fake.account_sid or recording in fake.deleted_recordings:
                self._json(404, _error_body(20404, "The requested resource was not found", 404))
                return
            if self.headers.get("Authorization") != _basic(fake.account_sid, fake.auth_token):
                self._json(401, _error_body(20003, "Authenticate", 401))
                return
            if delete:
                with fake._lock:
                    fake.deleted_recordings.add(recording)
                self.send_response(204)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(RECORDING_MP3)))
            self.end_headers()
            self.wfile.write(RECORDING_MP3)

        def _admitted(self, path: str) -> str | None:
            """The resource asked for, once the path and the credentials check out."""
            resource = _resource_of(path)
            if resource is None or path.split("/")[3] != fake.account_sid:
                self._json(404, _error_body(20404, "The requested resource was not found", 404))
                return None
            if self.headers.get("Authorization") != _basic(fake.account_sid, fake.auth_token):
                self._json(401, _error_body(20003, "Authenticate", 401))
                return None
            return resource

        def _error(self, status: int, code: int, to: str) -> None:
            text = ERROR_MESSAGES.get(code, "Error").format(to=to)
            self._json(status, _error_body(code, text, status))

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test): that is the point

    return Handler


# A recording's media: /2010-04-01/Accounts/{sid}/Recordings/RE….mp3 (any RE… id is "kept").
_RECORDING = re.compile(rf"/{API_VERSION}/Accounts/AC[0-9a-f]{{32}}/Recordings/RE[0-9A-Za-z]+\.mp3")
_RECORDING_RESOURCE = re.compile(
    rf"/{API_VERSION}/Accounts/AC[0-9a-f]{{32}}/Recordings/RE[0-9A-Za-z]+\.json"
)
# The first bytes of an MP3 (an ID3 header and one silent frame's header): enough for a test.
RECORDING_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 413


def _resource_of(path: str) -> str | None:
    """`MESSAGES` or `CALLS` for a list path, None for anything else."""
    pieces = path.split("/")  # "", "2010-04-01", "Accounts", sid, "Messages.json"
    if len(pieces) != 5 or pieces[1] != API_VERSION or pieces[2] != "Accounts":
        return None
    return _RESOURCE_FILES.get(pieces[4])


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _single(parsed: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in parsed.items()}


def _error_body(code: int, message: str, status: int) -> dict[str, Any]:
    """Twilio's (legacy) error shape, the one the library turns into TwilioRestException."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A message or call as the API shows it (our bookkeeping fields removed)."""
    return {key: value for key, value in record.items() if key not in _PRIVATE_FIELDS}


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True).replace("GMT", "+0000")


def _parse_filter_date(value: str) -> datetime:
    """`YYYY-MM-DD` or the library's `%Y-%m-%dT%H:%M:%SZ`, as UTC."""
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"unsupported DateSent filter {value!r}")


def _matches(message: dict[str, Any], query: dict[str, str]) -> bool:
    if "To" in query and message["to"] != query["To"]:
        return False
    if "From" in query and message["from"] != query["From"]:
        return False
    sent_filters = {k: v for k, v in query.items() if k in ("DateSent", "DateSent<", "DateSent>")}
    if not sent_filters:
        return True
    if message["date_sent"] is None:
        return False  # a queued message has not been sent: no DateSent filter matches it
    sent = parsedate_to_datetime(message["date_sent"])
    for key, value in sent_filters.items():
        bound = _parse_filter_date(value)
        if key == "DateSent" and sent.date() != bound.date():
            return False
        if key == "DateSent<" and sent > bound:
            return False
        if key == "DateSent>" and sent < bound:
            return False
    return True


def _receipt(message: dict[str, Any], status: str) -> dict[str, str]:
    """The form Twilio posts to a StatusCallback."""
    form = {
        "AccountSid": message["account_sid"],
        "ApiVersion": API_VERSION,
        "From": message["from"] or "",
        "MessageSid": message["sid"],
        "MessageStatus": status,
        "SmsSid": message["sid"],
        "SmsStatus": status,
        "To": message["to"] or "",
    }
    if message.get("messaging_service_sid"):
        form["MessagingServiceSid"] = message["messaging_service_sid"]
    if status in ("undelivered", "failed"):
        form["ErrorCode"] = "30003"
    return form


def _http_post(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
    return requests.post(url, data=form, headers=headers, timeout=10).status_code


@pytest.fixture(name="fake_twilio")
def fake_twilio_fixture() -> Iterator[FakeTwilio]:
    """A started fake Twilio server, stopped after the test."""
    with FakeTwilio() as server:
        yield server
