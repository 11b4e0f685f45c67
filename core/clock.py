"""The service's one clock: every "now" and "today" the service reads comes from here.

Deadlines, weeks, windows, dashboards' days and links' lifetimes all hang on the date, so a
test (or a rehearsal of a given day) must be able to say what time it is without patching
each module that asks. Nothing else in the service calls `datetime.now()` or `date.today()`.

The programme runs on Beirut's calendar (Asia/Beirut, with summer time): a "day" or a
"week" is Beirut's, while the store keeps aware UTC times.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BEIRUT = ZoneInfo("Asia/Beirut")

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    """The current moment, aware and in UTC (the frozen one while a test has set it)."""
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def in_beirut(moment: datetime) -> datetime:
    """The same moment on Beirut's wall clock."""
    return moment.astimezone(BEIRUT)


def beirut_day(moment: datetime) -> date:
    """The day of Beirut's calendar that `moment` falls on (weeks, deadlines, dashboards)."""
    return in_beirut(moment).date()


def beirut_today() -> date:
    """Today's date in Beirut, the day the programme's rules count in."""
    return beirut_day(now())


def freeze(moment: datetime) -> None:
    """Stop the clock at `moment` (aware) for every thread of this process, until `unfreeze`."""
    if moment.tzinfo is None:
        raise ValueError("the clock takes an aware time")
    global _frozen
    with _lock:
        _frozen = moment.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock on by `delta` and return the new moment."""
    global _frozen
    with _lock:
        if _frozen is None:
            raise RuntimeError("advance() moves a frozen clock; freeze() it first")
        _frozen = _frozen + delta
        return _frozen


def unfreeze() -> None:
    """Let the clock follow the machine's time again."""
    global _frozen
    with _lock:
        _frozen = None
