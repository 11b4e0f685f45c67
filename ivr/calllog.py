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
