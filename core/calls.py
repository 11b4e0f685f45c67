"""The log of calls to and from 1766, one row per Twilio call, with queue times."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, and_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, covers, visible

# The Twilio queue where callers wait for the complaint room: the IVR enqueues them into it and
# an agent's "take next call" dials it. One name, so both sides always meet in the same queue.
COMPLAINT_ROOM_QUEUE = "complaint-room"


class CallStatus(StrEnum):
    """A call's state, as Twilio's status callbacks report it."""

    RINGING = "ringing"  # reached the IVR, not yet answered
    IN_PROGRESS = "in-progress"  # in the IVR or with an agent
    QUEUED = "queued"  # waiting in the complaint-room queue
    COMPLETED = "completed"  # ended normally
    ABANDONED = "abandoned"  # the caller hung up while queued
    FAILED = "failed"  # never connected (busy, no answer, failed)


class Call(AreaScoped, Base):
    """One call; the caller's number is personal data and scoped like any record."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164, the citizen's side
    language: Mapped[str] = mapped_column(String(2), default="ar")
    status: Mapped[str] = mapped_column(String(12), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)  # Twilio's CallDuration


# The dashboard's abandoned calls by day, and waits of answered calls (core/dashboard.py, 0009).
_ABANDONED = Call.status == CallStatus.ABANDONED.value
_ANSWERED = and_(Call.queued_at.is_not(None), Call.answered_at.is_not(None))
Index(
    "ix_calls_abandoned_day", Call.started_at, postgresql_where=_ABANDONED, sqlite_where=_ABANDONED
)
Index(
    "ix_calls_answered_day",
    Call.started_at,
    Call.queued_at,
    Call.answered_at,
    postgresql_where=_ANSWERED,
    sqlite_where=_ANSWERED,
)


def calls_visible_to(session: Session, viewer: Viewer, limit: int = 100) -> list[Call]:
    """The newest calls of the viewer's area."""
    stmt = select(Call).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)
    return list(session.scalars(visible(stmt, viewer, Call, Permission.VIEW_MESSAGES)))


def waiting_calls(session: Session, viewer: Viewer, limit: int = 50) -> list[Call]:
    """Callers waiting in the complaint-room queue, longest wait first, not yet taken."""
    stmt = (
        select(Call)
        .where(Call.status == CallStatus.QUEUED, Call.answered_at.is_(None))
        .order_by(Call.queued_at, Call.id)
        .limit(limit)
    )
    return list(session.scalars(visible(stmt, viewer, Call, Permission.HANDLE_COMPLAINTS)))


def take_next_call(session: Session, viewer: Viewer) -> Call | None:
    """Claim the longest-waiting caller for one agent (Twilio's queue is first-in, first-out).

    Two agents pressing at once get two different callers: the claim is a conditional
    UPDATE, and the loser tries the next one.
    """
    for call in waiting_calls(session, viewer, limit=5):
        claimed = session.execute(
            update(Call)
            .where(Call.id == call.id, Call.answered_at.is_(None))
            .values(answered_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0):
            session.refresh(call)
            return call
    return None


def call_for(session: Session, viewer: Viewer, call_id: int) -> Call | None:
    call = session.get(Call, call_id)
    if call is None or not covers(viewer, call, Permission.HANDLE_COMPLAINTS):
        return None
    return call
