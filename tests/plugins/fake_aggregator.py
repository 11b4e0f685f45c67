"""A fake local SMS aggregator on loopback, so tests drive the real HTTP backend and never a
provider: it takes messages as a form, a JSON body or a query (the service's SMS_HTTP_* decide
which), records each request with its headers, answers a message id in JSON, can refuse a
number or the next requests, and plays the aggregator's side back to the app: signed delivery
reports to the callback each message carried, and inbound SMS.

The fixture is named `fake_aggregator`; `aggregator_settings(fake)` are the settings of a
service that sends through it (override any SMS_HTTP_* there), `client_poster(client)` posts
what it sends to a Flask test client instead of over HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.http_gateway_settings import HttpGatewaySettings
from core.messaging_settings import MessagingSettings
from core.settings import SmsBackend
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.twilio_requests import twilio_settings

SECRET = "fake-aggregator-report-secret"
SEND_PATH = "/api/send"
SENDER = "MoSA-1766"
ID_FIELD = "message.id"  # where the fake's answer names the message

# Posts a body to the app: (url, body, headers) -> HTTP status. The default posts over HTTP.
Poster = Callable[[str, bytes, dict[str, str]], int]


@dataclass
class Received:
    """One request that reached the fake's send path."""

    method: str
    content_type: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    params: dict[str, Any] = field(default_factory=dict)  # form, JSON or query, as sent


class FakeAggregator:
    """The fake server; a context manager, started on a free loopback port."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self._lock = threading.Lock()
        self._ids = itertools.count(1001)
        self._requests: list[Received] = []
        self._messages: list[dict[str, Any]] = []
        self._refused: dict[str, int] = {}
        self._failures: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeAggregator:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
        self._thread = None

    @property
    def url(self) -> str:
        """The send URL (SMS_HTTP_URL)."""
        assert self._server is not None, "the fake aggregator was never started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{SEND_PATH}"

    # -- what tests read and arrange ----------------------------------------------------

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message accepted, oldest first: its `id`, `to`, `text` and every parameter."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def refuse(self, number: str, status: int = 400) -> None:
        """Refuse every message to `number` (as `to` was sent) with `status`."""
        with self._lock:
            self._refused[number] = status

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """Answer the next `n` send requests with `status`, taking nothing."""
        with self._lock:
            self._failures += [status] * n

    # -- the aggregator's side: reports and inbound SMS ---------------------------------

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def report(
        self,
        message: Mapping[str, Any],
        status: str = "DELIVRD",
        error: str | None = None,
        post: Poster | None = None,
    ) -> int:
        """POST a signed JSON delivery report for `message` to the callback it carried."""
        document: dict[str, Any] = {"id": message["id"], "status": status}
        if error is not None:
            document["error"] = error
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-Signature": self.sign(body)}
        return (post or _http_post)(message["callback"], body, headers)

    def deliver_all(self, post: Poster | None = None) -> list[int]:
        """A DELIVRD report for every message taken so far; the app's answers."""
        return [self.report(message, "DELIVRD", post=post) for message in self.messages]

    def inbound(self, app_url: str, sender: str, text: str, post: Poster | None = None) -> int:
        """POST a signed inbound SMS (JSON `id`, `from`, `text`) to the app at `app_url`."""
        document = {"id": f"in{next(self._ids)}", "from": sender, "text": text}
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-Signature": self.sign(body)}
        return (post or _http_post)(app_url.rstrip("/") + "/sms/http/inbound", body, headers)

    # -- called by the handler ----------------------------------------------------------

    def _take(self, received: Received) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._requests.append(received)
            if self._failures:
                return self._failures.pop(0), {"status": "error", "reason": "busy"}
            to = str(received.params.get("to", ""))
            if to in self._refused:
                return self._refused[to], {"status": "error", "reason": "destination refused"}
            message_id = f"AGG{next(self._ids)}"
            self._messages.append(
                {
                    **received.params,
                    "id": message_id,
                    "to": to,
                    "text": received.params.get("text", ""),
                    "callback": received.params.get("dlr_url", ""),
                }
            )
        return 200, {"status": "ok", "message": {"id": message_id}}


def _handler_for(fake: FakeAggregator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length))

        def _answer(self, body: bytes) -> None:
            parts = urlsplit(self.path)
            if parts.path != SEND_PATH:
                self._json(404, {"status": "error", "reason": "not found"})
                return
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            kind = self.headers.get("Content-Type", "")
            received = Received(self.command, kind, dict(self.headers), query, body)
            received.params = _params(kind, body, query)
            status, answer = fake._take(received)
            self._json(status, answer)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _params(kind: str, body: bytes, query: dict[str, str]) -> dict[str, Any]:
    if kind.startswith("application/json"):
        parsed = json.loads(body.decode())
        return parsed if isinstance(parsed, dict) else {"json": parsed}
    if kind.startswith("application/x-www-form-urlencoded"):
        return {**query, **dict(parse_qsl(body.decode(), keep_blank_values=True))}
    return query


def _http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return requests.post(url, data=body, headers=headers, timeout=10).status_code


def client_poster(client: FlaskClient) -> Poster:
    """Posts to `client` (the app under test) at the URL's path and query."""

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kind = headers.get("Content-Type", "application/octet-stream")
        others = {k: v for k, v in headers.items() if k != "Content-Type"}
        return client.post(path, data=body, headers=others, content_type=kind).status_code

    return post


def aggregator_env(fake: FakeAggregator, **overrides: str) -> dict[str, str]:
    """The SMS_HTTP_* environment of a service sending through `fake`."""
    env = {
        "SMS_HTTP_URL": fake.url,
        "SMS_HTTP_REPORT_SECRET": fake.secret,
        "SMS_HTTP_SENDER": SENDER,
        "SMS_HTTP_ID_FIELD": ID_FIELD,
        "SMS_HTTP_AUTH": "bearer:fake-aggregator-token",
    }
    env.update(overrides)
    return env


def aggregator_settings(fake: FakeAggregator, **overrides: str) -> HttpGatewaySettings:
    return HttpGatewaySettings.from_env(aggregator_env(fake, **overrides))


@pytest.fixture(name="fake_aggregator")
def fake_aggregator_fixture() -> Iterator[FakeAggregator]:
    """A started fake aggregator, stopped after the test."""
    with FakeAggregator() as server:
        yield server


def service_on_aggregator(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeAggregator,
    twilio: FakeTwilio | None = None,
    **env: str,
) -> Flask:
    """The service sending through `fake` (jobs inline): alone (`SMS_BACKEND=http`), or as the
    fallback of Twilio reached at `twilio` (`SMS_BACKEND=twilio,http`)."""
    from assembly.app import create_app

    http = aggregator_settings(fake, **env)
    if twilio is None:
        settings = twilio_settings(engine, sms_backend=SmsBackend.HTTP, http_gateway=http)
    else:
        settings = twilio_settings(
            engine,
            twilio_api_base_url=twilio.url,
            http_gateway=http,
            messaging=MessagingSettings(sms_fallback=SmsBackend.HTTP),
        )
    app = create_app(settings, session_factory=session_factory)
    app.config["TESTING"] = True
    app.extensions["test.fake_aggregator"] = fake
    if twilio is not None:
        app.extensions["test.fake_twilio"] = twilio
    return app


@pytest.fixture
def aggregator_app(
    engine: Engine, session_factory: sessionmaker[Session], fake_aggregator: FakeAggregator
) -> Flask:
    """The service on `SMS_BACKEND=http`, sending through this test's fake aggregator."""
    return service_on_aggregator(engine, session_factory, fake_aggregator)


@pytest.fixture
def aggregator_client(aggregator_app: Flask) -> FlaskClient:
    test_client = aggregator_app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client


@pytest.fixture
def fallback_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_aggregator: FakeAggregator,
    fake_twilio: FakeTwilio,
) -> Flask:
    """The service on `SMS_BACKEND=twilio,http`: the fake Twilio first, the fake aggregator
    for what Twilio cannot carry."""
    return service_on_aggregator(engine, session_factory, fake_aggregator, fake_twilio)


@pytest.fixture
def fallback_client(fallback_app: Flask) -> FlaskClient:
    test_client = fallback_app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client
