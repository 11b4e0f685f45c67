"""Idempotent webhooks: a retried Twilio request gets the reply it got the first time.

Twilio retries a webhook it thinks failed (a timeout, a dropped connection). The key is
`MessageSid` for SMS and `CallSid` + step for voice. The reply is stored in the same
transaction as the work it reports (a ticket, a link, an owed SMS), so either both are kept or
neither; a retry that races the first request loses on the unique key and reads the reply.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow

KEEP = timedelta(days=2)  # Twilio's retries come within minutes; two days is generous


class WebhookReply(Base):
    """The TwiML answered to one webhook request, by its idempotency key."""

    __tablename__ = "webhook_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


def earlier_reply(session: Session, key: str) -> str | None:
    """The reply already given under `key`, if any."""
    return session.scalar(select(WebhookReply.body).where(WebhookReply.key == key))


def remember_reply(session: Session, key: str, body: str) -> None:
    """Keep `body` as the reply under `key`; flushed now, so a racing duplicate fails here."""
    session.add(WebhookReply(key=key[:120], body=body, created_at=utcnow()))
    session.flush()


def purge_older_than(session: Session, age: timedelta = KEEP) -> int:
    result = session.execute(delete(WebhookReply).where(WebhookReply.created_at < utcnow() - age))
    return int(getattr(result, "rowcount", 0) or 0)
