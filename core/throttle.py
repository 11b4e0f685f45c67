"""Counting attempts in a sliding window, in the store so every web process shares the count.

Kept in the database rather than in a rate-limiting library's memory store: the embedded
default has no Redis, and several gunicorn workers must see one count. Keys are hashed, so
no address or username lands in the table as written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow


class ThrottleHit(Base):
    """One counted attempt (a failed sign-in, a guessed token, an SMS)."""

    __tablename__ = "throttle_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window`."""

    count: int
    window: timedelta


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def exceeded(session: Session, key: str, limit: Limit, now: datetime | None = None) -> bool:
    """True once `key` has used up its attempts in the current window."""
    since = (now or utcnow()) - limit.window
    stmt = select(func.count()).where(ThrottleHit.key_hash == _hash(key), ThrottleHit.at > since)
    return int(session.scalar(stmt) or 0) >= limit.count


def hit(session: Session, key: str, now: datetime | None = None) -> None:
    """Count one attempt against `key`."""
    session.add(ThrottleHit(key_hash=_hash(key), at=now or utcnow()))


def clear(session: Session, key: str) -> None:
    """Forget `key`'s attempts (a successful sign-in clears the user's failures)."""
    session.execute(delete(ThrottleHit).where(ThrottleHit.key_hash == _hash(key)))


def purge_older_than(session: Session, age: timedelta) -> int:
    """Drop attempts too old to matter; a housekeeping job calls this."""
    result = session.execute(delete(ThrottleHit).where(ThrottleHit.at < utcnow() - age))
    return int(getattr(result, "rowcount", 0) or 0)
