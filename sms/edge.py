"""The SMS webhook's fast path: `POST /sms/inbound` buffered before Flask is entered.

On launch day this is the busiest address there is, and its work is one signature check and
one Redis round trip; Flask's request machinery (the request context, the limiter, sign-in,
languages, the response hooks) would cost as much again. So a thin WSGI layer in front of
the app answers it when it can: a correctly signed message that the stream took. Everything
else goes on to the Flask view unchanged (`sms/inbound.py`), with the body it read put back:
a bad signature (the view refuses it and logs), Redis unreachable or the buffer full (the view
writes to the store or answers 503), no Redis configured, a body too large or malformed. A
request that waited in the queue longer than `MAX_QUEUE_SECONDS` is answered 503 here
(web/queue_age.py), so Twilio calls the fallback URL without waiting out its 15 s.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.wrappers import Request

from core import inbox
from core.db import utcnow
from core.inbox import RawSms
from core.settings import Settings
from web import metrics
from web.queue_age import too_old
from web.twilio_auth import twilio_signature_valid

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PATH = "/sms/inbound"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'  # the reply is an SMS
_PLAIN = [("Content-Type", "text/plain"), ("Content-Length", "4"), ("X-Route", PATH)]
MAX_BODY = 64 * 1024  # a Twilio SMS webhook is a few KB; anything larger goes the long way
_SID = re.compile(r"[A-Za-z0-9]{1,64}")  # Twilio's shape; it also fits messages.provider_sid


class SmsEdge:
    """WSGI middleware: the buffered answer to a signed SMS, or the app."""

    def __init__(self, app: WSGIApp, settings: Settings, offer: Callable[[Any], bool | None]):
        self.app = app
        self.settings = settings
        self.offer = offer  # sms/inbound.py's buffer: True buffered, False full, None unreachable
        self.answer = EMPTY_TWIML.encode()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        if too_old(environ, self.settings.max_queue_seconds):
            # Twilio waited too long already: 503 sends it to the fallback URL at once, and
            # this process spends microseconds on it instead of a queue of dead requests.
            metrics.shed("sms")
            start_response("503 Service Unavailable", [*_PLAIN, ("Retry-After", "5")])
            return [b"busy"]
        body = _body(environ)
        if body is None:
            return self.app(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        request = Request(environ)
        try:
            buffered = twilio_signature_valid(request, self.settings) and self.offer(
                read_raw(request.form)
            )
        finally:
            environ["wsgi.input"] = io.BytesIO(body)  # read again by the app if it goes on
        if not buffered:
            return self.app(environ, start_response)
        metrics.accepted("sms")
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/xml; charset=utf-8"),
                ("Content-Length", str(len(self.answer))),
                ("X-Route", PATH),  # the access log's route, as the app's responses carry
            ],
        )
        return [self.answer]


def _body(environ: dict[str, Any]) -> bytes | None:
    """The form's bytes, or None when it is not a small urlencoded form."""
    kind = environ.get("CONTENT_TYPE", "")
    if not kind.startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "-1")
    except ValueError:
        return None
    if not 0 <= length <= MAX_BODY:
        return None
    data: bytes = environ["wsgi.input"].read(length)
    return data


def read_raw(form: Mapping[str, str]) -> RawSms:
    """The fields that matter, unread; any others Twilio adds are ignored (not refused).

    Here, not in the view, because both read it: this fast path and `sms/inbound.py`.
    """
    sid = form.get("MessageSid", "")
    if not _SID.fullmatch(sid):  # Twilio always sends one; a hand-made request may not
        sid = "LOCAL" + secrets.token_hex(16)
    return RawSms(
        sid=sid,
        sender=form.get("From", ""),
        recipient=form.get("To", ""),
        body=form.get("Body", "")[: inbox.MAX_BODY],
        received_at=utcnow(),
    )
