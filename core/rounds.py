"""Several rounds: the one links and forms belong to, and the one a page or a file counts.

A round is a `Programme` (code, window). Rounds follow one another, and a second one may open
while the first one's lists are still being handed over, so "the latest round" is not always
the round at hand:

- links are issued and forms taken only in the *open* round, the one whose window contains
  now (if windows overlap, the one that opened last);
- a page that counts or lists a round's records counts the round it is asked for, by code,
  and otherwise the *default* round: the open one, or when none is open the latest that has
  opened (a round set up for next month is not the default before it opens).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.programme import Programme, valid_code


class UnknownRound(LookupError):
    """No round has the code that was asked for."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def all_rounds(session: Session) -> list[Programme]:
    """Every round, the latest opened first (what a round picker offers)."""
    stmt = select(Programme).order_by(Programme.opens_at.desc(), Programme.id.desc())
    return list(session.scalars(stmt))


def open_round(session: Session, at: datetime | None = None) -> Programme | None:
    """The round whose window contains `at` (now); if several do, the one opened last."""
    moment = at or utcnow()
    stmt = (
        select(Programme)
        .where(Programme.opens_at <= moment, Programme.closes_at > moment)
        .order_by(Programme.opens_at.desc(), Programme.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def default_round(session: Session, at: datetime | None = None) -> Programme | None:
    """The open round, else the latest that has opened, else the first one set up."""
    moment = at or utcnow()
    found = open_round(session, moment)
    if found is not None:
        return found
    latest = select(Programme).order_by(Programme.opens_at.desc(), Programme.id.desc())
    opened = session.scalar(latest.where(Programme.opens_at <= moment).limit(1))
    if opened is not None:
        return opened
    return session.scalar(select(Programme).order_by(Programme.opens_at, Programme.id).limit(1))


def chosen_round(session: Session, code: str | None) -> Programme | None:
    """The round of that code, or the default round when none is named.

    Raises `UnknownRound` for a code no round has; None only when no round is set at all.
    """
    if not code:
        return default_round(session)
    if not valid_code(code):  # never sent to the store: a NUL byte is an error there
        raise UnknownRound(code)
    found = session.scalar(select(Programme).where(Programme.code == code))
    if found is None:
        raise UnknownRound(code)
    return found


def round_code(session: Session, programme_id: int) -> str:
    """The code of a round known by its id (a list, a link, a form names its round by id)."""
    return session.get_one(Programme, programme_id).code


def narrowing(session: Session, programme: Programme | None) -> int | None:
    """The id to narrow counts to `programme` by, or None when there is nothing to narrow.

    With a single round every record is that round's: counting without the condition gives
    the same figures, and keeps the dashboard's counts index-only scans (core/area_counts.py).
    """
    if programme is None:
        return None
    others = select(Programme.id).where(Programme.id != programme.id).limit(1)
    return programme.id if session.scalar(others) is not None else None
