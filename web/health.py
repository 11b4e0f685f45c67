"""`GET /healthz` and `GET /metrics`: store and queue state for load balancers and operators.

Every queue reports its depth and the age of its oldest item (its processing lag): the RQ
queues, the outbox of owed SMS, the store's inbox of undecided inbound SMS, and whatever the
assembly adds with `add_backlog` (the inbound SMS stream on Redis). /metrics gives the same as
Prometheus gauges, computed at each scrape, beside the counters every process keeps.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core import backlog
from core.db import utcnow
from core.queue import QUEUE_NAMES, RedisRunner
from web import store

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

PROBES = "intake.backlog_probes"
# A probe answers (depth, age in seconds of the oldest item or None when empty).
Probe = Callable[[], tuple[int, float | None]]


@dataclass(frozen=True)
class Backlog:
    queue: str
    depth: int
    oldest_age: float | None  # seconds; None when empty

    def as_json(self) -> dict[str, object]:
        age = None if self.oldest_age is None else round(self.oldest_age, 3)
        return {"depth": self.depth, "oldest_age_seconds": age}


def add_backlog(app: Flask, queue: str, probe: Probe) -> None:
    """Report `probe`'s backlog as `queue` (how the assembly adds the adapters' buffers)."""
    app.extensions.setdefault(PROBES, {})[queue] = probe


@bp.get("/livez")
def livez() -> ResponseReturnValue:
    """Liveness only: the process answers (no store, no queue). Load balancers' cheapest probe."""
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while the store answers (the queue may be down: the store keeps what is owed)."""
    try:
        store.db().execute(select(1))
        store_state = "ok"
    except SQLAlchemyError:
        store_state = "down"
    queue_state = current_app.extensions["intake.jobs"].state()
    found, missing = backlogs()
    status = 200 if store_state == "ok" else 503
    queues = {b.queue: b.as_json() for b in found} | {name: None for name in missing}
    return jsonify(store=store_state, queue=queue_state, queues=queues), status


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus' text format; with METRICS_TOKEN set, only for `Authorization: Bearer` it."""
    token = current_app.config["INTAKE_SETTINGS"].metrics_token
    if token and not hmac.compare_digest(
        request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
    ):
        return "unauthorised\n", 401, {"Content-Type": "text/plain", "WWW-Authenticate": "Bearer"}
    scraped = CollectorRegistry()
    scraped.register(_BacklogCollector())
    if values.ValueClass is not values.MutexValue:  # multiprocess mode (gunicorn.conf.py)
        multiprocess.MultiProcessCollector(scraped)  # every process's counters, summed
        text = generate_latest(scraped)
    else:  # one process (bin/serve's development, tests): its own counters
        text = generate_latest(REGISTRY) + generate_latest(scraped)
    return text, 200, {"Content-Type": CONTENT_TYPE_LATEST}


def backlogs() -> tuple[list[Backlog], list[str]]:
    """Every queue's backlog, and the names of those that could not be read now."""
    found: list[Backlog] = []
    missing: list[str] = []
    for name, probe in _probes():
        try:
            depth, age = probe()
        except Exception as exc:  # one queue unreadable must not hide the others
            log.warning("backlog %s unreadable: %s", name, type(exc).__name__)
            _roll_back()
            missing.append(name)
            continue
        found.append(Backlog(name, depth, age))
    return found, missing


def _roll_back() -> None:
    # A failed query leaves the session unusable until then; a store that is down makes the
    # next probe fail the same way, and say so.
    with contextlib.suppress(SQLAlchemyError):
        store.db().rollback()


def _probes() -> Iterator[tuple[str, Probe]]:
    runner = current_app.extensions["intake.jobs"]
    if isinstance(runner, RedisRunner):  # inline jobs have no queue
        for name in QUEUE_NAMES:
            yield f"rq:{name}", _rq_probe(runner, name)
    yield "outbox", lambda: _aged(backlog.outbox(store.db()))
    yield "inbound:store", lambda: _aged(backlog.inbound(store.db()))
    yield from current_app.extensions.get(PROBES, {}).items()


def _rq_probe(runner: RedisRunner, name: str) -> Probe:
    def probe() -> tuple[int, float | None]:
        queue = runner.queue(name)
        depth = queue.count
        first = queue.get_jobs(0, 1) if depth else []
        enqueued = first[0].enqueued_at if first else None
        if enqueued is not None and enqueued.tzinfo is None:
            enqueued = enqueued.replace(tzinfo=UTC)  # RQ writes UTC
        return _aged((depth, enqueued))

    return probe


def _aged(found: tuple[int, datetime | None]) -> tuple[int, float | None]:
    depth, oldest = found
    if oldest is None:
        return depth, None
    return depth, max(0.0, (utcnow() - oldest).total_seconds())


class _BacklogCollector(Collector):
    """Queue depths and lags, read when Prometheus scrapes (never a stale copy)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found, _missing = backlogs()
        depth = GaugeMetricFamily(
            "intake_queue_depth", "Items waiting in each queue", labels=["queue"]
        )
        lag = GaugeMetricFamily(
            "intake_queue_lag_seconds",
            "Age of the oldest item waiting in each queue (0 when empty)",
            labels=["queue"],
        )
        for item in found:
            depth.add_metric([item.queue], item.depth)
            lag.add_metric([item.queue], item.oldest_age or 0.0)
        yield depth
        yield lag
