"""`/console/staff-work`: each account's forms, links and corrections per Beirut day.

Thin views over `core.staff_work`. The page shows a date range's work (the last 7 days by
default) as a table, at most `SHOWN` rows; the CSV (`/console/staff-work.csv`) has every row,
streamed from the store, with cells a spreadsheet would run as formulas defused. A refused
range (not a date, reversed, longer than 92 days) is said in the page's language, as 400, and
nothing is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.clock import beirut_today
from core.roles import Permission, Role
from core.scopes import viewpoint
from core.staff_work import (
    MAX_DAYS,
    Period,
    PeriodProblem,
    PeriodRefused,
    WorkDay,
    area_names,
    period_from,
    staff_work,
    work_statement,
)
from web import store
from web.auth import staff_required
from webforms.console import ROLE_LABELS
from webforms.csv_export import csv_from_store

bp = Blueprint("staff_work", __name__, template_folder="templates")

SHOWN = 500  # rows on the page; the CSV has them all
MAX_ARG = 20  # a date is 10 characters; anything much longer is refused unread

PROBLEMS = {
    PeriodProblem.BAD_DATE: _l("Enter a date as YYYY-MM-DD, e.g. 2020-04-01."),
    PeriodProblem.REVERSED: _l("The first day is after the last day. Swap them."),
    PeriodProblem.TOO_LONG: _l("Choose at most %(days)s days at a time.", days=MAX_DAYS),
}
CSV_HEADER = ("username", "role", "area", "day", "forms_entered", "links_sent", "corrections")


def _period() -> Period:
    """The range in the query; `PeriodRefused` when it is not one."""
    first, last = request.args.get("from", ""), request.args.get("to", "")
    if len(first) > MAX_ARG or len(last) > MAX_ARG:
        raise PeriodRefused(PeriodProblem.BAD_DATE, "from" if len(first) > MAX_ARG else "to")
    return period_from(first, last, beirut_today())


@bp.get("/console/staff-work")
@staff_required(Permission.VIEW_STAFF_WORK)
def page() -> ResponseReturnValue:
    try:
        period = _period()
    except PeriodRefused as refused:
        return _refused(refused)
    rows = staff_work(store.db(), g.user, period)
    names = area_names(store.db(), (row.area_code for row in rows[:SHOWN]))
    return render_template(
        "staff_work/index.html",
        rows=rows[:SHOWN],
        area_label=lambda code: _area_label(names, code),
        more=len(rows) > SHOWN,
        shown=SHOWN,
        period=period,
        form={"from": period.first.isoformat(), "to": period.last.isoformat()},
        error=None,
    )


def _area_label(names: dict[str, tuple[str, str]], code: str) -> str:
    """An account's area by name in the page's language; a national account's is Lebanon."""
    if code not in names:
        return str(_l("Lebanon"))
    english, arabic = names[code]
    return arabic if str(get_locale()) == "ar" else english


def _refused(refused: PeriodRefused) -> ResponseReturnValue:
    """The form again, as typed, with the reason; nothing counted."""
    form = {key: request.args.get(key, "")[:MAX_ARG] for key in ("from", "to")}
    error = {"field": refused.field, "text": str(PROBLEMS[refused.problem])}
    page = render_template("staff_work/index.html", rows=[], period=None, form=form, error=error)
    return page, 400


@bp.get("/console/staff-work.csv")
@staff_required(Permission.VIEW_STAFF_WORK)
def download() -> ResponseReturnValue:
    try:
        period = _period()
    except PeriodRefused as refused:
        return _refused(refused)
    seen_by = viewpoint(g.user)  # read after the request's session has closed

    def read(session: Session) -> Iterator[tuple[object, ...]]:
        for row in session.execute(work_statement(seen_by, period)):
            yield _cells(WorkDay(*row))

    name = f"staff-work-{g.user.area.code}-{period.first.isoformat()}-{period.last.isoformat()}"
    return csv_from_store(f"{name}.csv", CSV_HEADER, read)


def _cells(row: WorkDay) -> tuple[object, ...]:
    """One row of the CSV: values as stored (role and area codes), for sorting and sums."""
    return (row.username, row.role, row.area_code, row.day.isoformat(), *_counts(row))


def _counts(row: WorkDay) -> tuple[int, int, int]:
    return int(row.forms), int(row.links), int(row.corrections)


def role_label(value: str) -> str:
    """A stored role's name in the page's language."""
    try:
        return str(ROLE_LABELS[Role(value)])
    except ValueError:
        return value


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"role_label": role_label, "max_days": MAX_DAYS}
