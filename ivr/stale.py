"""A voice step that waited too long in front of the workers hears "all lines are busy" at once.

Past capacity the IVR's steps queue (the balancer, gunicorn's backlog, its thread pool). A
step stamped by the balancer longer ago than `MAX_QUEUE_SECONDS` is answered here, in a thin
WSGI layer before Flask is entered, with the busy message pre-rendered for the step's
language (ivr/busy.py): it costs a fraction of Flask's request machinery, so a queue of steps
whose callers have waited in silence drains fast and the service is back to normal soon after
the load falls. Pressing 1 then (`/ivr/busy`) and the queue's hold music are never shed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from flask import Flask

from web import metrics
from web.queue_age import too_old

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PREFIX = "/ivr/"
NEVER_SHED = frozenset({"/ivr/busy", "/ivr/hold", "/ivr/call-status"})


class StaleSteps:
    """WSGI middleware: the busy TwiML for an IVR step that waited too long, else the app."""

    def __init__(self, app: WSGIApp, flask_app: Flask, max_queue_seconds: int) -> None:
        self.app = app
        self.flask_app = flask_app
        self.limit = max_queue_seconds
        self.rendered: dict[str, bytes] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX) or path in NEVER_SHED or not too_old(environ, self.limit):
            return self.app(environ, start_response)
        metrics.shed("ivr")
        body = self._busy(parse_qs(environ.get("QUERY_STRING", "")).get("lang", [""])[0])
        headers = [
            ("Content-Type", "text/xml; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("X-Route", "/ivr/<stale>"),
        ]
        start_response("200 OK", headers)  # Twilio plays only what a 200 carries
        return [body]

    def _busy(self, language: str) -> bytes:
        from core.citizen_requests import LANGUAGES
        from ivr import busy

        code = language if language in LANGUAGES else ""  # one entry per language, no more
        if code not in self.rendered:
            with self.flask_app.test_request_context(f"{PREFIX}voice"):
                self.rendered[code] = busy.twiml(code).encode()
        return self.rendered[code]
