"""Past its limit an entry answers busy at once, instead of queueing until the caller gives up.

Each entry (the IVR, the citizen's form, the consoles) has a number of requests each web process
works on at once (`MAX_IN_FLIGHT_*`); one more is answered by the entry's own busy answer
without touching the store: pre-rendered TwiML for the IVR, a light page for the form, a plain
503 for the consoles. The check is made before anything else of the request (before the
sign-in's user is read), so a shed request costs microseconds; the slot is given back when the
request ends, whatever happened, so the service recovers by itself as soon as load falls.

Store trouble (the pool's wait timed out, the database refused or dropped the connection) is
the same situation seen from the other end, and gets the same answers: never a bare 500.

A request the load balancer stamped longer ago than `MAX_QUEUE_SECONDS` gets the same busy
answer (web/queue_age.py): its caller is gone or going, and answering it fast is what lets
the queue drain.

The limit is per process: gunicorn's threads beyond the limits are what give the busy answers
(and serve /healthz, /metrics and the SMS webhook) while the limits' requests work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from web import metrics
from web.queue_age import too_old
from web.twilio_auth import SIGNATURE_HEADER

log = logging.getLogger(__name__)

EXTENSION = "intake.overload"
RETRY_AFTER_SECONDS = 30  # long enough for a burst to pass, short enough for a citizen to wait
# What "the store cannot serve this request now" looks like from SQLAlchemy: the pool's wait
# timed out (QueuePool), the server refused, dropped or never answered the connection.
STORE_TROUBLE: tuple[type[Exception], ...] = (
    PoolTimeout,
    OperationalError,
    InterfaceError,
    DisconnectionError,
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'

Busy = Callable[[], ResponseReturnValue]


class Limiter:
    """At most `limit` requests at once in this process (0: no limit); never waits."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit) if limit > 0 else None

    def try_enter(self) -> bool:
        return self._slots is None or self._slots.acquire(blocking=False)

    def leave(self) -> None:
        if self._slots is not None:
            self._slots.release()


@dataclass(frozen=True)
class Entry:
    """One way in: its name in the metrics, its limiter and its busy answer."""

    name: str
    limiter: Limiter
    busy: Busy
    exempt: frozenset[str]  # endpoints never shed (cheap ones that a shed request leads to)


def init_overload(app: Flask) -> None:
    """Register the admission check first, so a shed request runs nothing else of the app."""
    app.extensions[EXTENSION] = {}
    app.before_request(_admit)
    app.teardown_request(_leave)
    for trouble in STORE_TROUBLE:
        app.register_error_handler(trouble, _store_trouble)


def guard(
    app: Flask,
    entry: str,
    blueprints: Iterable[str],
    limit: int,
    busy: Busy,
    exempt: Iterable[str] = (),
) -> Entry:
    """Limit the requests of `blueprints` together, as one entry, answering `busy` past it."""
    guarded = Entry(entry, Limiter(limit), busy, frozenset(exempt))
    table: dict[str, Entry] = app.extensions[EXTENSION]
    for name in blueprints:
        table[name] = guarded
    return guarded


def entry_named(app: Flask, name: str) -> Entry:
    """The entry called `name` (operators' tools and tests hold its slots through it)."""
    table: dict[str, Entry] = app.extensions[EXTENSION]
    return next(entry for entry in table.values() if entry.name == name)


def _entry() -> Entry | None:
    table: dict[str, Entry] = current_app.extensions[EXTENSION]
    return table.get(request.blueprint or "")


def _admit() -> ResponseReturnValue | None:
    entry = _entry()
    if entry is None or request.endpoint in entry.exempt:
        return None
    limit = current_app.config["INTAKE_SETTINGS"].max_queue_seconds
    if too_old(request.environ, limit) or not entry.limiter.try_enter():
        metrics.shed(entry.name)
        return entry.busy()
    g.overload_entry = entry
    metrics.accepted(entry.name)
    return None


def _leave(_exc: BaseException | None) -> None:
    entry: Entry | None = g.pop("overload_entry", None)
    if entry is not None:
        entry.limiter.leave()


def _store_trouble(error: Exception) -> ResponseReturnValue:
    # The type only: SQL errors quote their parameters (numbers, what a citizen typed).
    log.error("store unavailable on %s: %s", request.endpoint or "-", type(error).__name__)
    entry = _entry()
    if entry is not None:
        metrics.shed(entry.name)
        return entry.busy()
    if request.headers.get(SIGNATURE_HEADER):  # a Twilio webhook of no entry: TwiML, empty
        return Response(EMPTY_TWIML, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}, "text/xml")
    return console_busy()


def retry_after() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def console_busy() -> ResponseReturnValue:
    """A plain page: no layout, no user, no store; the staff member's work is not lost."""
    title = _("The service is busy")
    text = _(
        "Too many requests are being handled at this moment. Nothing was changed by this "
        "one. Wait a minute, then try again."
    )
    html = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"</head><body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    )
    return Response(html, 503, retry_after(), mimetype="text/html")
