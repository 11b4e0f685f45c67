"""The IVR's entries in the call log (`core.calls.Call`): when a call came, its language, queueing.

The complaint room needs queue times and the caller's language; the menu knows them first.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.calls import Call, CallStatus
from core.db import utcnow


def call_started(session: Session, call_sid: str, number: str) -> None:
    """One row per call, however often Twilio retries the first webhook."""
    if not call_sid or session.scalar(select(Call.id).where(Call.call_sid == call_sid)):
        return
    call = Call(
        call_sid=call_sid,
        direction="inbound",
        phone=number[:20],
        language="ar",
        status=CallStatus.IN_PROGRESS,
        started_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(call)
    except IntegrityError:
        pass  # a retry of the same webhook, racing this one, wrote the row first


def call_language(session: Session, call_sid: str, language: str) -> None:
    session.execute(update(Call).where(Call.call_sid == call_sid).values(language=language))


def call_queued(session: Session, call_sid: str) -> None:
    session.execute(
        update(Call)
        .where(Call.call_sid == call_sid)
        .values(status=CallStatus.QUEUED, queued_at=utcnow())
    )


_ENDED = {
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.FAILED,
    "no-answer": CallStatus.FAILED,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.ABANDONED,
}


def call_ended(session: Session, call_sid: str, twilio_status: str, seconds: int | None) -> str:
    """Twilio's last word on a call: its end and length; returns the outcome for the log.

    A caller who hung up while waiting for an agent abandoned the queue (the complaint room
    counts those). A repeated callback changes nothing.
    """
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    if call is None or call.ended_at is not None:
        return "unknown" if call is None else "repeated"
    status = _ENDED.get(twilio_status)
    if status is None:
        return "ignored"
    if status is CallStatus.COMPLETED and call.status == CallStatus.QUEUED:
        status = CallStatus.ABANDONED
    call.status = status
    call.ended_at = utcnow()
    if seconds is not None:
        call.duration_seconds = seconds
    return str(status)
