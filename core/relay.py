"""The relay: owed work moves from the store to RQ in batches, so no request waits on Redis.

A form post, an IVR step or a console action commits what it owes (a PENDING message, an
application version with no score) and answers; when Redis is configured the web app's
runner (`core.queue.RelayedRunner`) leaves that work here. The relay, a Procfile process,
reads a batch of owed work every few hundred milliseconds, hands it to RQ in one pipelined
round trip (`Queue.enqueue_many`) and marks it relayed in the same transaction, so it is not
queued twice while it waits. If Redis refuses the batch, the transaction rolls back and the
work stays owed for the next round: nothing is lost, and a job queued twice is harmless (a
message is claimed before it is sent, a score is unique per version).

Messages go in jobs of `SEND_BATCH` (`sms.jobs.send_messages`): a job claims its batch in
one statement and records the answers in one, so the store sees two commits per batch, not
two per message. A mark is cleared whenever the work is owed again (a send to retry, a claim
released); a message still owed `STALE_AFTER` after it was relayed (Redis flushed, restored
or a job lost) is relayed again by `relay_stale` — at worst a second job, which finds the
message claimed or sent and does nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.applications import SCORE_TO_RELAY, Application
from core.db import transaction, utcnow
from core.messages import Message, MessageStatus
from core.queue import JOB_TIMEOUT, RedisRunner, Work

log = logging.getLogger(__name__)

BATCH = 500  # rows of each kind per round: one pipelined round trip to Redis per kind
SEND_BATCH = 20  # messages a send job hands over (a second or less at a sender's usual rate)
STALE_AFTER = timedelta(minutes=10)  # a relayed message still owed after this is relayed again


@dataclass(frozen=True)
class RelayReport:
    """What one round handed to the queues."""

    messages: int
    scores: int

    @property
    def total(self) -> int:
        return self.messages + self.scores


def relay_once(
    factory: sessionmaker[Session], runner: RedisRunner, batch: int = BATCH
) -> RelayReport:
    """Hand one batch of owed SMS and one of owed scores to RQ, and mark them relayed."""
    with transaction(factory) as session:
        now = utcnow()
        message_ids = _owed_messages(session, now, batch)
        versions = _owed_scores(session, batch)
        _enqueue_messages(runner, message_ids)
        _enqueue_scores(runner, versions)
        _mark_messages(session, message_ids, now)
        for application_id, version in versions:
            session.execute(
                update(Application)
                .where(Application.id == application_id)
                .values(score_relayed_version=version)
            )
    return RelayReport(len(message_ids), len(versions))


def relay_stale(factory: sessionmaker[Session], runner: RedisRunner, batch: int = BATCH) -> int:
    """Relay again the owed messages relayed long ago and still not sent; how many."""
    with transaction(factory) as session:
        now = utcnow()
        stmt = (
            select(Message.id)
            .where(
                Message.status == MessageStatus.PENDING,
                Message.relayed_at < now - STALE_AFTER,
                Message.next_attempt_at <= now,
            )
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        stale = list(session.scalars(stmt))
        _enqueue_messages(runner, stale)
        _mark_messages(session, stale, now)
    if stale:
        log.warning("relayed again %d owed SMS whose job never ran", len(stale))
    return len(stale)


def _owed_messages(session: Session, now: datetime, batch: int) -> list[int]:
    stmt = (
        select(Message.id)
        .where(
            Message.status == MessageStatus.PENDING,
            Message.relayed_at.is_(None),
            Message.next_attempt_at <= now,
        )
        .order_by(Message.next_attempt_at)
        .limit(batch)
        .with_for_update(skip_locked=True)  # two relays never hand on the same rows
    )
    return list(session.scalars(stmt))


def _owed_scores(session: Session, batch: int) -> list[tuple[int, int]]:
    stmt = (
        select(Application.id, Application.version)
        .where(SCORE_TO_RELAY)
        .order_by(Application.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return [(int(i), int(v)) for i, v in session.execute(stmt)]


def _mark_messages(session: Session, message_ids: Sequence[int], now: datetime) -> None:
    if message_ids:
        session.execute(update(Message).where(Message.id.in_(message_ids)).values(relayed_at=now))


def _enqueue_messages(runner: RedisRunner, message_ids: Sequence[int]) -> None:
    batches = [
        list(message_ids[i : i + SEND_BATCH]) for i in range(0, len(message_ids), SEND_BATCH)
    ]
    jobs = [((ids,), f"sms-{ids[0]}-{uuid.uuid4().hex[:8]}") for ids in batches]
    _enqueue_many(runner, "sms", Work.SEND_MESSAGES, jobs)


def _enqueue_scores(runner: RedisRunner, versions: Sequence[tuple[int, int]]) -> None:
    jobs = [((a,), f"score-{a}-v{v}") for a, v in versions]  # as `dispatch_scoring` names it
    _enqueue_many(runner, "scoring", Work.SCORE_APPLICATION, jobs)


def _enqueue_many(
    runner: RedisRunner, queue_name: str, work: Work, jobs: Sequence[tuple[tuple[Any], str]]
) -> None:
    """One pipelined round trip for the whole batch; a Redis error is raised to roll back."""
    if not jobs:
        return
    queue, func = runner.queue(queue_name), runner.resolve(work)
    data = [
        queue.prepare_data(func, args, job_id=job_id, timeout=JOB_TIMEOUT) for args, job_id in jobs
    ]
    with runner.connection.pipeline() as pipe:
        queue.enqueue_many(data, pipeline=pipe)
        pipe.execute()
