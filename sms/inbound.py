"""SMS to 1766 at POST /sms/inbound: accepted at the edge, decided in the background.

The webhook checks Twilio's signature, hands the raw message (MessageSid, From, To, Body, the
time) to the buffer and answers an empty `<Response/>`: no store transaction, no keyword
work, so it keeps up with whatever Twilio sends on launch day. The consumers
(sms/consumer.py, the Procfile's `consumer`) decide each message once and owe its reply as an
SMS of its own (sms/keyword_work.py).

Where the message goes:
- the Redis Stream (sms/buffer.py) while Redis answers and the buffer has room;
- the store's inbox (core/inbox.py) when Redis cannot be reached: slower, nothing lost;
- nowhere when the buffer is full: 503 with `Retry-After`, and Twilio calls the fallback URL,
  `POST /sms/fallback`, which writes to the store's inbox;
- with no Redis configured at all (the embedded defaults), the store's inbox, decided at once
  in this request, as inline jobs are.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, current_app, request
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core import inbox
from core.inbox import RawSms
from core.settings import Settings
from sms.buffer import SmsBuffer
from sms.consumer import decide_waiting
from sms.edge import EMPTY_TWIML, SmsEdge, read_raw
from web import metrics, store
from web.twilio_auth import twilio_webhook

log = logging.getLogger(__name__)

bp = Blueprint("sms_inbound", __name__, url_prefix="/sms")

RETRY_AFTER = "5"  # seconds, on a 503: the buffer drains at hundreds a second
REDIS_BACKOFF = 5.0  # seconds a process writes to the store after Redis failed it
BUFFER = "intake.sms_buffer"


def init_buffer(app: Flask, settings: Settings) -> None:
    """The stream this process appends to, and the fast path in front of the app that uses
    it (sms/edge.py); none without Redis (the store's inbox then, through the view)."""
    if settings.redis_url:
        # Short timeouts: a Redis that hangs must cost a request a second at most, once.
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2)
        edge = _Edge(SmsBuffer(redis, settings.sms_buffer_max))
        app.extensions[BUFFER] = edge
        app.wsgi_app = SmsEdge(app.wsgi_app, settings, edge.offer)  # type: ignore[method-assign]


class _Edge:
    """The buffer, and when this process last found Redis down (then it goes to the store)."""

    def __init__(self, buffer: SmsBuffer) -> None:
        self.buffer = buffer
        self.down_until = 0.0

    def offer(self, raw: RawSms) -> bool | None:
        """True buffered, False full, None unreachable (the caller writes to the store)."""
        if time.monotonic() < self.down_until:
            return None
        try:
            return self.buffer.offer(raw)
        except (RedisError, OSError) as error:
            self.down_until = time.monotonic() + REDIS_BACKOFF
            log.warning("SMS buffer unreachable (%s): writing to the store", type(error).__name__)
            return None


@bp.post("/inbound")
@twilio_webhook
def inbound() -> Response:
    """One SMS to 1766, accepted in one Redis round trip (or the store, when Redis is down)."""
    return _twiml(EMPTY_TWIML) if take(read_raw(request.form), "sms") else _busy()


def take(raw: RawSms, entry: str) -> bool:
    """Hand `raw` to the one inbound path: the buffer, else the store's inbox (decided at once
    with no Redis at all); False when the buffer is full or the store failed (answer 503).
    Twilio's webhook and the aggregator's (sms/http_webhooks.py) both come through here."""
    edge: _Edge | None = current_app.extensions.get(BUFFER)
    buffered = edge.offer(raw) if edge is not None else None
    if buffered:  # rare for Twilio's: sms/edge.py answers those before Flask is entered
        metrics.accepted(entry)
        return True
    if buffered is False:
        metrics.shed(entry)
        log.warning("SMS buffer full: %s answered 503", raw.sid)
        return False
    return _keep_in_store(raw, "inline" if edge is None else "no_redis", entry)


@bp.post("/fallback")
@twilio_webhook
def fallback() -> Response:
    """Twilio's fallback URL: the primary failed or was full, so the store keeps the message."""
    kept = _keep_in_store(read_raw(request.form), "fallback", "sms_fallback")
    return _twiml(EMPTY_TWIML) if kept else _busy()


def _keep_in_store(raw: RawSms, source: str, entry: str) -> bool:
    """Write the raw message to the store's inbox; with no Redis at all, decide it now."""
    session = store.db()
    try:
        inbox.keep(session, raw, source)
        store.commit()
    except SQLAlchemyError as error:
        _roll_back()
        metrics.shed(entry)
        log.error("SMS %s could not be kept (%s): answered 503", raw.sid, type(error).__name__)
        return False
    metrics.accepted(entry)
    if source == "inline":  # no Redis, so no consumer process: this request is the consumer
        try:
            decide_waiting(store.session_factory(), current_app.extensions["intake.jobs"])
        except Exception as error:  # kept already: a later request or a consumer decides it
            log.error("SMS %s kept, not yet decided (%s)", raw.sid, type(error).__name__)
    return True


def _busy() -> Response:
    response = Response("busy", status=503, mimetype="text/plain")
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _twiml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")


def _roll_back() -> None:
    try:
        store.db().rollback()
    except Exception as error:  # a dead connection: the request's teardown discards it
        log.error("inbound SMS: rollback failed (%s)", type(error).__name__)
