"""Asking the worker for a score, once the work it scores is committed.

A new application and an approved correction each leave a version with no score. That is
the outbox: `scoring sweep` (`scoring.scores.unscored`) finds every current version without
a score with the formula in use, so no row of its own is written, and a queue that was down
at the commit loses nothing. The job is enqueued after the commit, by the adapter.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from core.queue import JobRunner, Work

log = logging.getLogger(__name__)


def dispatch_scoring(
    runner: JobRunner, application_id: int, version: int, new: bool = True
) -> None:
    """Enqueue the score after commit; if the queue is down the sweep finds it unscored.

    `new`: the version was just committed, so no job for it can be queued yet; the sweep
    passes False so that a job still waiting in Redis is not queued a second time.
    """
    try:
        runner.enqueue(
            "scoring",
            Work.SCORE_APPLICATION,
            application_id,
            job_id=f"score-{application_id}-v{version}",
            new=new,
        )
    except (RedisError, OSError) as exc:
        log.warning(
            "score of application %s left for the sweep: queue unavailable (%s)",
            application_id,
            type(exc).__name__,
        )
