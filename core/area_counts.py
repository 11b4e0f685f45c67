"""Counting one measure of a scoped table by the next level of areas down, or by Beirut day.

A dashboard's figure (core/dashboard.py) at a million applications touches a million index
entries; on this project's 2-core machine that is 60-150 ms whatever the plan, so each figure
is one statement (`Measure`) reading one small index and nothing else (index-only scans):

- by area, each child area's count is a subquery that probes the index by the child's codes
  (`governorates.code = applications.governorate_code`, and at lower levels the parents too,
  which every record stores with its locality). A probe per child counts without sorting or
  grouping a million rows, and one `(governorate, district, locality)` index serves every
  level (migration 0009). Records with no area (links asked from 1766, calls) are a row of
  their own on the national dashboard.
- by day, a stored Beirut day (`Link.created_on`, `Application.submitted_on`) is counted by
  equality, one entry of a small index per area and day; a UTC time (calls) by the range
  between two Beirut midnights converted to UTC in Python (a day of 23 or 25 hours is counted
  right). No time-zone arithmetic per row.
- the constants of a measure are written into the SQL (`const`), so PostgreSQL matches the
  partial indexes whatever plan it caches.
- At national and governorate level every child area has a row (eight governorates, at most
  seven districts), so a silent one shows; a district's localities (up to 165) are listed when
  they have something to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Select,
    String,
    and_,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.sql.expression import FunctionElement

from core.clock import BEIRUT
from core.geography import Area, AreaLevel, District, Governorate, Locality
from core.scopes import AreaScoped, area_condition

DAYS = 14
NO_AREA = ""  # the row of records that carry no area (national dashboard only)


class RowKind(StrEnum):
    """What a chart's rows are."""

    AREA = "area"  # area codes (NO_AREA for records without one)
    DAY = "day"  # ISO dates, Beirut days, oldest first
    CATEGORY = "category"  # a decision category


@dataclass(frozen=True)
class Figures:
    """One chart's numbers: a row per area, day or category; a column per series."""

    kind: RowKind
    rows: tuple[str, ...]
    series: tuple[str, ...]
    values: tuple[tuple[int, ...], ...]  # values[row][series]

    def total(self, series: str) -> int:
        index = self.series.index(series)
        return sum(row[index] for row in self.values)


@dataclass(frozen=True)
class Measure:
    """One figure: the rows of `model` that meet `where`, counted (or `value` summed)."""

    model: type[AreaScoped]
    where: tuple[ColumnElement[bool], ...] = ()
    value: Any = None  # a column to sum; default count(*)

    def aggregate(self) -> ColumnElement[Any]:
        return func.count() if self.value is None else func.coalesce(func.sum(self.value), 0)


def const(value: str) -> ColumnElement[Any]:
    """A constant written into the SQL, so PostgreSQL can match a partial index's predicate."""
    return literal(str(value), String(), literal_execute=True)


def one_of(column: Mapped[str], values: Sequence[str]) -> ColumnElement[bool]:
    return column.in_([const(v) for v in values])


# --- the area and its children ------------------------------------------------------------

_CHILD_LEVEL = {
    AreaLevel.NATIONAL: AreaLevel.GOVERNORATE,
    AreaLevel.GOVERNORATE: AreaLevel.DISTRICT,
    AreaLevel.DISTRICT: AreaLevel.LOCALITY,
    AreaLevel.LOCALITY: AreaLevel.LOCALITY,
}
_CODE_COLUMN = {
    AreaLevel.GOVERNORATE: "governorate_code",
    AreaLevel.DISTRICT: "district_code",
    AreaLevel.LOCALITY: "locality_code",
}


def within(model: type[AreaScoped], area: Area) -> ColumnElement[bool]:
    """`area_condition`, with the area's parents too: equal by construction (records store
    every parent), they make the condition a prefix of the (governorate, district, locality)
    indexes at every level."""
    conditions = [area_condition(model, area)]
    if area.level in (AreaLevel.DISTRICT, AreaLevel.LOCALITY):
        conditions.append(model.governorate_code == area.governorate_code)
    if area.level is AreaLevel.LOCALITY:
        conditions.append(model.district_code == area.district_code)
    return and_(*conditions)


def _children(area: Area) -> Select[Any]:
    """The codes of the areas one level down (the area itself for a municipality)."""
    if area.level is AreaLevel.NATIONAL:
        return select(Governorate.code.label("code"))
    if area.level is AreaLevel.GOVERNORATE:
        return select(District.code.label("code")).where(District.governorate_code == area.code)
    if area.level is AreaLevel.DISTRICT:
        return select(Locality.code.label("code")).where(Locality.district_code == area.code)
    return select(literal(area.code).label("code"))


def _child_match(model: type[AreaScoped], area: Area, code: Any) -> ColumnElement[bool]:
    """A record of `model` in the child area whose code is `code`, inside `area`."""
    column = getattr(model, _CODE_COLUMN[_CHILD_LEVEL[area.level]])
    if area.level is AreaLevel.LOCALITY:
        return within(model, area)
    return and_(within(model, area), column == code)


def by_area(session: Session, area: Area, measure: Measure) -> dict[str, int]:
    """One measure for each child area (and, nationally, for records without an area)."""
    children = _children(area).subquery("children")
    model = measure.model
    counted = (
        select(measure.aggregate())
        .select_from(model)
        .where(_child_match(model, area, children.c.code), *measure.where)
        .correlate(children)
        .scalar_subquery()
    )
    statement: Any = select(children.c.code, counted)
    if area.level is AreaLevel.NATIONAL:
        unplaced = select(measure.aggregate()).where(
            model.governorate_code.is_(None), *measure.where
        )
        statement = union_all(statement, select(literal(NO_AREA), unplaced.scalar_subquery()))
    return {code: int(value or 0) for code, value in session.execute(statement)}


def by_area_total(session: Session, area: Area, measure: Measure) -> int:
    """One measure over the whole area."""
    model = measure.model
    stmt = select(measure.aggregate()).select_from(model).where(within(model, area), *measure.where)
    return int(session.scalar(stmt) or 0)


def area_figures(
    session: Session, area: Area, measures: dict[str, Measure], codes: Sequence[str]
) -> Figures:
    """A chart by area: one statement per measure, rows in the order of `codes`."""
    counts = {name: by_area(session, area, m) for name, m in measures.items()}
    keep_silent = area.level in (AreaLevel.NATIONAL, AreaLevel.GOVERNORATE, AreaLevel.LOCALITY)
    rows = [
        code
        for code in codes
        if (keep_silent and code != NO_AREA) or any(c.get(code) for c in counts.values())
    ]
    values = tuple(tuple(counts[name].get(code, 0) for name in measures) for code in rows)
    return Figures(RowKind.AREA, tuple(rows), tuple(measures), values)


def area_names(session: Session, area: Area) -> dict[str, tuple[str, str]]:
    """The Arabic and English names of the area's children (and of the area itself)."""
    model: Any = {
        AreaLevel.NATIONAL: Governorate,
        AreaLevel.GOVERNORATE: District,
        AreaLevel.DISTRICT: Locality,
        AreaLevel.LOCALITY: Locality,
    }[area.level]
    codes = select(_children(area).subquery().c.code)
    stmt = select(model.code, model.name_ar, model.name_en).where(model.code.in_(codes))
    return {code: (name_ar, name_en) for code, name_ar, name_en in session.execute(stmt)}


def child_codes(session: Session, area: Area) -> list[str]:
    """The child areas' codes in order, then the no-area row on the national dashboard."""
    codes = [str(code) for code in session.scalars(_children(area).order_by("code"))]
    return [*codes, NO_AREA] if area.level is AreaLevel.NATIONAL else codes


# --- by Beirut day -----------------------------------------------------------------------


def beirut_days(today: date, days: int = DAYS) -> list[tuple[date, datetime, datetime]]:
    """The last `days` Beirut days up to `today`: each day and its [start, end) in UTC."""
    first = today - timedelta(days=days - 1)
    edges = [
        datetime.combine(first + timedelta(days=n), time(), BEIRUT).astimezone(UTC)
        for n in range(days + 1)
    ]
    return [(first + timedelta(days=n), edges[n], edges[n + 1]) for n in range(days)]


def by_day(
    session: Session, area: Area, measure: Measure, column: Any, today: date
) -> dict[str, int]:
    """One measure for each of the last 14 Beirut days, in one statement.

    `column` is a stored Beirut day (`Link.created_on`: one small index entry per area and
    day) or a UTC time, counted by the range between two Beirut midnights.
    """
    days = beirut_days(today)
    model = measure.model
    stored_day = isinstance(column.type, Date)
    counts = [
        select(func.count())
        .select_from(model)
        .where(
            within(model, area),
            *((column == day,) if stored_day else (column >= start, column < end)),
            *measure.where,
        )
        .scalar_subquery()
        for day, start, end in days
    ]
    values = session.execute(select(*counts)).one()
    return {
        day.isoformat(): int(value or 0) for (day, _s, _e), value in zip(days, values, strict=True)
    }


def day_figures(
    session: Session, area: Area, measures: dict[str, tuple[Measure, Any]], today: date
) -> Figures:
    counts = {name: by_day(session, area, m, col, today) for name, (m, col) in measures.items()}
    rows = tuple(day.isoformat() for day, _s, _e in beirut_days(today))
    values = tuple(tuple(counts[name][row] for name in measures) for row in rows)
    return Figures(RowKind.DAY, rows, tuple(measures), values)


# --- durations ---------------------------------------------------------------------------


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds, on each database (SQLite keeps times as text)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
