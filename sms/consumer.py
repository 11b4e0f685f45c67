"""The SMS consumers: decide buffered inbound SMS in batches, one store transaction each.

A batch is what the Redis Stream gives this consumer (`sms/buffer.py`) plus what waits in the
store's inbox (`core/inbox.py`: the fallback path, Redis outages, `sms reconcile`). Each
message is decided in a savepoint of the batch's transaction, so one that fails is answered
with an apology without undoing the others; the batch commits, its owed SMS (replies, links,
ticket numbers) are dispatched, and only then are the stream entries acknowledged. A consumer
that dies before the acknowledgement leaves its entries to another (XAUTOCLAIM) or to itself
on restart; a message decided already is skipped by its MessageSid.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core import inbox, throttle
from core.db import transaction, utcnow
from core.inbox import RawSms
from core.notifications import dispatch
from core.queue import JobRunner
from sms.buffer import Entry, SmsBuffer
from sms.keyword_work import FLOOD, Decided, decide, decide_failed, flood_key, write_log
from web import metrics

log = logging.getLogger(__name__)

BATCH = 200  # messages per transaction: big enough to amortise the commit, small for latency
BLOCK_MS = 500  # how long an idle consumer waits on the stream before looking at the store


@dataclass
class BatchReport:
    """What one batch did."""

    decided: int = 0
    skipped: int = 0  # decided before (a redelivery, a replay, a racing consumer)
    failed: int = 0  # answered with an apology

    @property
    def seen(self) -> int:
        return self.decided + self.skipped + self.failed


def decide_batch(
    factory: sessionmaker[Session],
    runner: JobRunner,
    raws: Sequence[RawSms],
    from_store: int = 0,
) -> BatchReport:
    """Decide `raws` and up to `from_store` messages of the store's inbox, in one transaction;
    dispatch what they owe once committed. Raises if the transaction cannot commit (nothing
    is then decided, and the caller must not acknowledge `raws`).

    The batch is first decided the fast way: its numbers counted against the flood limit in
    one statement, its log written in one, no savepoints. Should anything in it fail (a fault
    in one message, a racing consumer's MessageSid), that is rolled back and the batch is
    decided again one message at a time, each in a savepoint, so that one message's fault
    is answered with an apology without undoing the others.
    """
    try:
        return _decide(factory, runner, raws, from_store, fast=True)
    except SQLAlchemyError as error:
        if not isinstance(error, IntegrityError):
            raise  # the store itself: the caller retries, nothing is acknowledged
    except Exception:  # noqa: S110 - decided again below, message by message
        pass
    return _decide(factory, runner, raws, from_store, fast=False)


def _decide(
    factory: sessionmaker[Session],
    runner: JobRunner,
    raws: Sequence[RawSms],
    from_store: int,
    fast: bool,
) -> BatchReport:
    report = BatchReport()
    owed: list[int] = []
    decided_at: list[RawSms] = []
    with transaction(factory) as session:
        waiting = inbox.pending(session, from_store) if from_store else []
        batch = [*raws, *(row.raw() for row in waiting)]
        seen = inbox.decided(session, [raw.sid for raw in batch])
        todo = []
        for raw in batch:
            if raw.sid in seen:
                report.skipped += 1
                continue
            seen.add(raw.sid)  # the same message twice in one batch
            todo.append(raw)
        if fast:
            decisions = _decide_fast(session, todo)
        else:
            decisions = [(raw, _decide_one(session, raw)) for raw in todo]
        for raw, decided in decisions:
            if decided is None:
                report.skipped += 1
                continue
            report.failed += decided.outcome == "failed"
            report.decided += decided.outcome != "failed"
            owed += decided.message_ids
            decided_at.append(raw)
            metrics.PROCESSED.labels("sms", decided.outcome).inc()
        inbox.forget(session, [row.sid for row in waiting])
    now = utcnow()
    for raw in decided_at:
        metrics.LAG.labels("sms").observe((now - raw.received_at).total_seconds())
    dispatch(runner, owed, new=True)
    return report


def _decide_fast(session: Session, todo: list[RawSms]) -> list[tuple[RawSms, Decided | None]]:
    """Every message of the batch with its number counted in one statement, its log in one."""
    keys = [flood_key(raw) for raw in todo]
    before = throttle.take_many(session, dict(Counter(keys)), FLOOD)
    nth: Counter[str] = Counter()
    rows: list[dict[str, object]] = []
    decisions: list[tuple[RawSms, Decided | None]] = []
    for raw, key in zip(todo, keys, strict=True):
        nth[key] += 1
        within = before[key] + nth[key] <= FLOOD.count
        decisions.append((raw, decide(session, raw, within_limit=within, log_rows=rows)))
    write_log(session, rows)
    return decisions


def _decide_one(session: Session, raw: RawSms) -> Decided | None:
    """One message in a savepoint; None when another consumer decided it meanwhile."""
    try:
        with session.begin_nested():
            return decide(session, raw)
    except SQLAlchemyError as exc:
        if not isinstance(exc, IntegrityError):
            raise  # the store itself: the whole batch is retried, nothing is acknowledged
        error: Exception = exc  # most likely a racing consumer logged the MessageSid first
    except Exception as exc:  # a fault in one message must not hold the others up
        error = exc
    try:
        with session.begin_nested():
            return decide_failed(session, raw, error)
    except IntegrityError:
        return None  # its MessageSid is logged: a racing consumer decided it, and that stands


def decide_waiting(factory: sessionmaker[Session], runner: JobRunner, limit: int = BATCH) -> int:
    """Drain the store's inbox (no Redis: the web process does this inline); how many seen."""
    total = 0
    while True:
        report = decide_batch(factory, runner, (), from_store=limit)
        total += report.seen
        if report.seen < limit:
            return total


class Consumer:
    """One consumer process: the stream when there is Redis, the store's inbox always."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        runner: JobRunner,
        buffer: SmsBuffer | None,
        name: str | None = None,
        batch: int = BATCH,
    ) -> None:
        self.factory = factory
        self.runner = runner
        self.buffer = buffer
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.batch = batch
        self.stopping = False
        self._own_first = True  # after a start or a failed batch: this consumer's own pending

    def run(self, idle_pause: float = 0.5) -> None:
        """Until SIGTERM or SIGINT: the batch in hand is finished before stopping."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        if self.buffer is not None:
            self.buffer.ensure_group()
        log.info("SMS consumer %s started", self.name)
        while not self.stopping:
            try:
                seen = self.step()
            except (RedisError, SQLAlchemyError, OSError) as error:
                log.warning("SMS consumer %s: %s; retrying", self.name, type(error).__name__)
                self._own_first = True
                time.sleep(1.0)
                continue
            if not seen and self.buffer is None:
                time.sleep(idle_pause)
        log.info("SMS consumer %s stopped", self.name)

    def step(self, block_ms: int = BLOCK_MS) -> int:
        """One batch; how many messages it saw (0 when idle). With Redis down, the store's
        inbox (where the webhook then writes) is still decided."""
        try:
            entries = self._read(block_ms)
        except (RedisError, OSError) as error:
            log.warning("SMS consumer %s: stream unreadable (%s)", self.name, type(error).__name__)
            self._own_first = True  # what it had read is still pending: read it first later
            entries, redis_down = [], True
        else:
            redis_down = False
        report = decide_batch(
            self.factory, self.runner, [e.raw for e in entries], from_store=self.batch
        )
        if entries and self.buffer is not None:
            self.buffer.done([e.entry_id for e in entries])
        if report.seen:
            log.info(
                "SMS consumer %s: %d decided, %d skipped, %d failed",
                self.name,
                report.decided,
                report.skipped,
                report.failed,
            )
        elif redis_down:
            time.sleep(1.0)  # nothing in the store either: wait for Redis without spinning
        return report.seen

    def _read(self, block_ms: int) -> list[Entry]:
        if self.buffer is None:
            return []
        if self._own_first:
            entries = self.buffer.read_own(self.name, self.batch)
            if entries:
                return entries
            self._own_first = False
        return self.buffer.read(self.name, self.batch, block_ms)

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
