"""Follow-up of staff work: per account and per Beirut day, what each account entered.

The social affairs ministry follows each user's form-filling (issue 17, point 7), and each
level follows the accounts of its area. Three measures, each read from where the work is
recorded, not from the audit trail (whose details are keyed and not meant for counting):

- forms entered: applications an account filled on a caller's behalf (`entered_by_id`), by
  their stored Beirut day (`submitted_on`);
- links sent: one-time form links an account texted (`Link.sender_id`; an assisted form's
  link is the form itself, already counted, and is left out), by `created_on`;
- corrections logged: correction requests an account logged (`logged_by_id`), by the Beirut
  day of `created_at`, told in SQL from Beirut's midnights converted to UTC in Python (a day
  of 23 or 25 hours is counted right, and no time-zone arithmetic runs per row).

An account counts in the area it is tied to (a focal point sees its municipality's accounts,
a qaimaqam the district's, the national roles every account, national ones too): the accounts
are narrowed by `core.scopes.visible` with `Permission.VIEW_STAFF_WORK`. Only the days on
which an account did something are rows; an idle account has none. Everything is grouped in
one SQL statement, so a 92-day national table reads no row into Python twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Select, case, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from core.applications import Application
from core.clock import BEIRUT
from core.corrections import CorrectionRequest
from core.geography import District, Governorate, Locality
from core.links import Channel, Link
from core.roles import Permission
from core.scopes import Viewer, visible
from core.users import StaffUser

DEFAULT_DAYS = 7  # the last week, today included
MAX_DAYS = 92  # a quarter: beyond it, the table is too long to read and the query too wide
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Days the service can have worked on: far outside them, a range's arithmetic (a week back from
# 0001-01-01, Beirut's midnight of 9999-12-31 in UTC) overflows Python's dates.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


class PeriodProblem(StrEnum):
    """Why a date range is refused."""

    BAD_DATE = "bad_date"  # not a date written YYYY-MM-DD, or no such day
    REVERSED = "reversed"  # the first day is after the last
    TOO_LONG = "too_long"  # more than MAX_DAYS days


class PeriodRefused(ValueError):
    """The range asked for cannot be counted; `problem` says why, `field` which date."""

    def __init__(self, problem: PeriodProblem, field: str) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.field = field


@dataclass(frozen=True)
class Period:
    """Beirut days from `first` to `last`, both included."""

    first: date
    last: date

    def days(self) -> Iterator[tuple[date, datetime]]:
        """Each day with the UTC moment its Beirut day ends (the next Beirut midnight)."""
        day = self.first
        while day <= self.last:
            following = day + timedelta(days=1)
            yield day, datetime.combine(following, time(), BEIRUT).astimezone(UTC)
            day = following

    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time(), BEIRUT).astimezone(UTC)


def period_from(first: str | None, last: str | None, today: date) -> Period:
    """The range a page or a download asks for; the last `DEFAULT_DAYS` days when empty."""
    end = _day(last, "to") if last else today
    start = _day(first, "from") if first else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise PeriodRefused(PeriodProblem.REVERSED, "from")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodRefused(PeriodProblem.TOO_LONG, "from")
    return Period(start, end)


def _day(value: str, field: str) -> date:
    text = value.strip()
    if not _ISO_DAY.fullmatch(text):
        raise PeriodRefused(PeriodProblem.BAD_DATE, field)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodRefused(PeriodProblem.BAD_DATE, field) from None
    if not EARLIEST <= day <= LATEST:
        raise PeriodRefused(PeriodProblem.BAD_DATE, field)
    return day


@dataclass(frozen=True)
class WorkDay:
    """One account's work on one Beirut day."""

    username: str
    role: str
    area_code: str
    day: date
    forms: int
    links: int
    corrections: int


def staff_work(session: Session, viewer: Viewer, period: Period) -> list[WorkDay]:
    """Each account of the viewer's area with work in `period`, day by day, by username."""
    return [WorkDay(*row) for row in session.execute(work_statement(viewer, period))]


def work_statement(viewer: Viewer, period: Period) -> Select[Any]:
    """One statement: the three measures' rows, united, grouped by account and day."""
    accounts = visible(select(StaffUser.id), viewer, StaffUser, Permission.VIEW_STAFF_WORK)
    rows = union_all(
        _forms(period).where(Application.entered_by_id.in_(accounts)),
        _links(period).where(Link.sender_id.in_(accounts)),
        _corrections(period).where(CorrectionRequest.logged_by_id.in_(accounts)),
    ).subquery()
    return (
        select(
            StaffUser.username,
            StaffUser.role_value,
            StaffUser.area_code,
            rows.c.day,
            func.sum(rows.c.forms),
            func.sum(rows.c.links),
            func.sum(rows.c.corrections),
        )
        .join(StaffUser, StaffUser.id == rows.c.account)
        .group_by(StaffUser.id, StaffUser.username, StaffUser.role_value, StaffUser.area_code)
        .group_by(rows.c.day)
        .order_by(StaffUser.username, rows.c.day)
    )


def area_names(session: Session, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The English and Arabic names of accounts' areas (municipality, district or
    governorate), in one statement; the national code has none."""
    wanted = sorted(set(codes))
    named = union_all(
        *(
            select(table.code, table.name_en, table.name_ar).where(table.code.in_(wanted))
            for table in (Locality, District, Governorate)
        )
    )
    return {code: (en, ar) for code, en, ar in session.execute(named)}


def _measure(account: Any, day: Any, forms: str, links: str, corrections: str) -> Select[Any]:
    """A row per piece of work: who, which day, and a 1 in its measure's column."""
    return select(
        account.label("account"),
        day.label("day"),
        literal_column(forms).label("forms"),
        literal_column(links).label("links"),
        literal_column(corrections).label("corrections"),
    )


def _forms(period: Period) -> Select[Any]:
    on = Application.submitted_on
    measure = _measure(Application.entered_by_id, on, "1", "0", "0")
    return measure.where(on >= period.first, on <= period.last)


def _links(period: Period) -> Select[Any]:
    on = Link.created_on
    measure = _measure(Link.sender_id, on, "0", "1", "0")
    return measure.where(on >= period.first, on <= period.last, Link.channel != Channel.ASSISTED)


def _corrections(period: Period) -> Select[Any]:
    at = CorrectionRequest.created_at
    edges = list(period.days())
    day = case(*((at < end, literal(d, Date)) for d, end in edges))
    measure = _measure(CorrectionRequest.logged_by_id, day, "0", "0", "1")
    return measure.where(at >= period.starts_at(), at < edges[-1][1])
