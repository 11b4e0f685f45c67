"""The scoring outbox: each application version that must be (re)scored, written with the work.

A corrected application must be scored again before any list is built from it. The request is
a row committed in the same transaction as the correction, so a crash between the commit and
the queue loses nothing: the scoring worker takes every pending request, newest version only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow


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
