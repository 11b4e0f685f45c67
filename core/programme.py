"""The programme round and its submission window, set and read in Beirut time.

Circular part 5.1(a): the 2020 round took forms for two weeks, until 2020-05-04 at 24:00.
Times are stored in UTC; operators type and read them in Asia/Beirut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.clock import BEIRUT, beirut_day
from core.db import Base, UTCDateTime, utcnow

DEFAULT_CODE = "impact-2020"
_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
_MIDNIGHT_24 = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]24:00(?::00)?(Z|[+-]\d{2}:\d{2})?$")


class Programme(Base):
    """One round of the assistance programme."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def is_open(self, at: datetime | None = None) -> bool:
        """Forms are taken from the opening instant up to, not including, the closing one."""
        moment = at or utcnow()
        return self.opens_at <= moment < self.closes_at


class WindowError(ValueError):
    """A window cannot be set as asked; the message says why."""


def parse_beirut_time(text: str) -> datetime:
    """An ISO date-time; without an offset it is Beirut time. `24:00` is the next midnight."""
    value = text.strip()
    match = _MIDNIGHT_24.match(value)
    try:
        if match:
            day = datetime.fromisoformat(match.group(1) + "T00:00" + (match.group(2) or ""))
            moment = day + timedelta(days=1)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise WindowError(f"{text!r} is not an ISO date-time such as 2020-05-04T24:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIRUT)
    return moment


def set_window(
    session: Session, opens: datetime, closes: datetime, actor: str, code: str = DEFAULT_CODE
) -> Programme:
    """Create the round or move its window; every change is an audit event."""
    if not valid_code(code):
        raise WindowError(f"programme code {code!r} must be 2-40 lowercase letters, digits or -")
    if closes <= opens:
        raise WindowError("the window must close after it opens")
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        programme = Programme(code=code, opens_at=opens, closes_at=closes)
        session.add(programme)
    programme.opens_at, programme.closes_at = opens, closes
    session.flush()
    audit.record(
        session,
        actor,
        "programme.window_set",
        "programme",
        code,
        {"opens": opens.isoformat(), "closes": closes.isoformat()},
    )
    return programme


def valid_code(code: str) -> bool:
    """Whether `code` could name a round (2-40 lowercase letters, digits or -)."""
    return bool(_CODE.fullmatch(code))


def current_programme(session: Session) -> Programme | None:
    """The round that opened last: the one links and forms belong to."""
    return session.scalar(select(Programme).order_by(Programme.opens_at.desc()).limit(1))


def beirut_day_of(column: str) -> Callable[[Any], date]:
    """A column default: the Beirut day of the row's UTC time `column` (the row's own value,
    or now when it has none yet). Stored, the day is counted by index with no time-zone
    arithmetic per row (the dashboard's daily charts)."""

    def default(context: Any) -> date:
        moment = context.get_current_parameters().get(column) or utcnow()
        return beirut_day(moment)

    return default
