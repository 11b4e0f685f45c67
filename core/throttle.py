"""Counting attempts in the store, atomically, so every web process shares one count.

Kept in the database rather than in a rate-limiting library's memory store: the embedded
default has no Redis, and several gunicorn workers must see one count. Keys are hashed, so
no address or username lands in the table as written.

Each key is one row, changed by a single `INSERT … ON CONFLICT DO UPDATE … RETURNING`
(PostgreSQL, and SQLite since 3.35). Reading the count and then writing it let 40 requests
at the same instant all read "4" and all go on; the upsert makes the store hand each request
its own number, so a limit of 5 lets exactly 5 through. The row stays locked until the
caller's transaction ends, which serialises attempts on one key and nothing else.

Two shapes of limit:
- `Limit`: at most `count` attempts in a fixed window that opens at the first attempt.
- `Backoff`: `free` attempts, then a wait before each further one that doubles up to a
  ceiling; an attempt asked for during the wait is refused and not counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    case,
    delete,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, table, utcnow


class ThrottleCounter(Base):
    """The attempts counted against one key, and until when its window or its wait runs."""

    __tablename__ = "throttle_counters"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    # `Limit`: the end of the current window. `Backoff`: when the next attempt may be made.
    until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ThrottleHit(Base):
    """Retired: one row per attempt, read then written (not atomic). Nothing reads or writes
    it since migration 0010; the table stays one release so that processes of the previous
    release keep working during a rolling deploy, and the next migration drops it."""

    __tablename__ = "throttle_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window`."""

    count: int
    window: timedelta


@dataclass(frozen=True)
class Backoff:
    """`free` attempts, then waits of `first`, doubling, at most `longest`; a `forget` without
    any attempt starts the count again."""

    free: int
    first: timedelta
    longest: timedelta
    forget: timedelta = timedelta(days=1)

    def wait_after(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th attempt before the next one."""
        if attempts < self.free:
            return timedelta(0)
        doublings = min(attempts - self.free, 32)  # past the ceiling long before this
        wait: timedelta = self.first * (2**doublings)
        return min(wait, self.longest)


_COUNTERS = table(ThrottleCounter)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _at(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, UTCDateTime())


def _upsert(session: Session, values: dict[str, Any]) -> Any:
    """An INSERT of `values` in the dialect of the session's store (both know ON CONFLICT)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(_COUNTERS).values(**values)


def take(session: Session, key: str, limit: Limit, now: datetime | None = None) -> bool:
    """Count one attempt against `key`; False once this window's `limit.count` are used up."""
    now = now or utcnow()
    c = _COUNTERS.c
    window_over = c.until <= _at(now)
    stmt = _upsert(session, {"key_hash": _hash(key), "attempts": 1, "until": now + limit.window})
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.key_hash],
        set_={
            "attempts": case((window_over, 1), else_=c.attempts + 1),
            "until": case((window_over, _at(now + limit.window)), else_=c.until),
        },
    ).returning(c.attempts)
    return int(session.execute(stmt).scalar_one()) <= limit.count


def take_many(
    session: Session, counts: dict[str, int], limit: Limit, now: datetime | None = None
) -> dict[str, int]:
    """Count `counts[key]` attempts against each key at once (a batch of SMS from many numbers);
    for each key, the attempts its window held before these. The n-th of a key's attempts
    (from 1) is within the limit when `before + n <= limit.count`: what `take` would have said
    to each in turn. One statement, so the counting stays atomic across consumers."""
    if not counts:
        return {}
    now = now or utcnow()
    c = _COUNTERS.c
    hashes = {_hash(key): key for key in counts}
    rows = [
        {"key_hash": digest, "attempts": counts[key], "until": now + limit.window}
        for digest, key in sorted(hashes.items())  # one order: racing batches cannot deadlock
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_COUNTERS).values(rows)
    window_over = c.until <= _at(now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.key_hash],
        set_={
            "attempts": case(
                (window_over, stmt.excluded.attempts), else_=c.attempts + stmt.excluded.attempts
            ),
            "until": case((window_over, _at(now + limit.window)), else_=c.until),
        },
    ).returning(c.key_hash, c.attempts)
    after = {hashes[digest]: int(attempts) for digest, attempts in session.execute(stmt)}
    return {key: after[key] - counts[key] for key in counts}


def attempt(
    session: Session, key: str, backoff: Backoff, now: datetime | None = None
) -> datetime | None:
    """Count one attempt against `key` unless it must wait: None if it may go on, else the
    moment from which it may (the refused attempt is not counted)."""
    now = now or utcnow()
    c = _COUNTERS.c
    forgotten = c.until <= _at(now - backoff.forget)
    attempts = case((forgotten, 1), else_=c.attempts + 1)
    stmt = _upsert(
        session, {"key_hash": _hash(key), "attempts": 1, "until": now + backoff.wait_after(1)}
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.key_hash],
        set_={"attempts": attempts, "until": _next_until(backoff, attempts, now)},
        # Within the free attempts `until` is not looked at: a request that read the clock a
        # moment before another's insert landed must not find itself "waiting".
        where=or_(c.attempts < backoff.free, c.until <= _at(now)),
    ).returning(c.attempts)
    if session.execute(stmt).first() is not None:
        return None
    return session.scalar(select(c.until).where(c.key_hash == _hash(key)))


def _next_until(backoff: Backoff, attempts: ColumnElement[int], now: datetime) -> Any:
    """`now` plus the wait after `attempts`, as SQL: one branch per step up to the ceiling."""
    steps = []
    n = backoff.free
    while backoff.wait_after(n) < backoff.longest:
        steps.append((attempts == n, _at(now + backoff.wait_after(n))))
        n += 1
    return case((attempts < backoff.free, _at(now)), *steps, else_=_at(now + backoff.longest))


def refund(session: Session, key: str) -> None:
    """Give back one attempt (it turned out well), so it does not bring the next wait closer."""
    c = _COUNTERS.c
    session.execute(
        update(_COUNTERS)
        .where(c.key_hash == _hash(key), c.attempts > 0)
        .values(attempts=c.attempts - 1)
    )


def exceeded(session: Session, key: str, limit: Limit, now: datetime | None = None) -> bool:
    """True while `key` has used up `limit` in its current window (a read: for soft decisions
    only; a limit that must hold under concurrency is enforced with `take`)."""
    c = _COUNTERS.c
    stmt = select(c.attempts).where(c.key_hash == _hash(key), c.until > _at(now or utcnow()))
    return int(session.scalar(stmt) or 0) >= limit.count


def clear(session: Session, key: str) -> None:
    """Forget `key`'s attempts (a successful sign-in clears its failures)."""
    session.execute(delete(_COUNTERS).where(_COUNTERS.c.key_hash == _hash(key)))


def purge_older_than(session: Session, age: timedelta) -> int:
    """Drop counts whose window or wait ended more than `age` ago; a housekeeping job calls
    this (and empties the retired per-attempt table as it goes)."""
    cutoff = utcnow() - age
    result = session.execute(delete(_COUNTERS).where(_COUNTERS.c.until < _at(cutoff)))
    session.execute(delete(ThrottleHit).where(ThrottleHit.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
