"""What waits in the store: how much, and since when (what /healthz and /metrics report).

Each backlog is a depth and the moment its oldest item became due; an operator reads the age
of that moment as the processing lag of the queue.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import inbox
from core.messages import Message, MessageStatus

Backlog = tuple[int, datetime | None]


def outbox(session: Session) -> Backlog:
    """SMS owed and not yet handed to the gateway, and when the most overdue one fell due.

    A message waiting for a retry is due at its `next_attempt_at`, not at its creation: one
    deliberately held back is not late.
    """
    due = func.coalesce(Message.next_attempt_at, Message.created_at)
    count, oldest = session.execute(
        select(func.count(), func.min(due)).where(Message.status == MessageStatus.PENDING)
    ).one()
    return int(count or 0), oldest


def inbound(session: Session) -> Backlog:
    """Raw inbound SMS the store holds undecided (Redis down, the fallback URL, reconcile)."""
    return inbox.backlog(session)
