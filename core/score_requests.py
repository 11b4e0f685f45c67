"""The scoring outbox: each application version that must be (re)scored, written with the work.

A corrected application must be scored again before any list is built from it. The request is
a row committed in the same transaction as the correction, so a crash between the commit and
the queue loses nothing: the scoring worker takes every pending request, newest version only.

A new application writes no request: the submission is the hot path of the programme's first
day, and "the current version has no score" is already an outbox the sweep can read
(`scoring.scores.unscored`). The job is enqueued after the commit either way.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from redis.exceptions import RedisError
from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.queue import JobRunner

log = logging.getLogger(__name__)

SCORE_JOB = "scoring.jobs.score_application"  # by name: the job lives with the formula


class ScoreReason(StrEnum):
    """Why a version is to be scored."""

    SUBMITTED = "submitted"  # a new application
    CORRECTED = "corrected"  # the committee approved a correction


class ScoreRequest(Base):
    """One version of one application awaiting its score."""

    __tablename__ = "score_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when scored, or when a newer version made this request pointless.
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    superseded: Mapped[bool] = mapped_column(default=False)


def request_scoring(
    session: Session, application_id: int, version: int, reason: ScoreReason
) -> ScoreRequest:
    """Owe a score for this version; earlier pending versions of the same family are dropped."""
    now = utcnow()
    session.execute(
        update(ScoreRequest)
        .where(ScoreRequest.application_id == application_id, ScoreRequest.done_at.is_(None))
        .values(done_at=now, superseded=True)
    )
    request = ScoreRequest(
        application_id=application_id, version=version, reason=reason, requested_at=now
    )
    session.add(request)
    session.flush()
    return request


def pending_scoring(session: Session, limit: int = 1000) -> list[ScoreRequest]:
    """Requests not yet scored, oldest first (what the scoring worker takes)."""
    stmt = (
        select(ScoreRequest)
        .where(ScoreRequest.done_at.is_(None))
        .order_by(ScoreRequest.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


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
            SCORE_JOB,
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
