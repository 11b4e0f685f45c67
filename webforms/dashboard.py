"""Dashboards for each level, within its scope: headline figures, SVG charts, each with its CSV.

The viewer's own area only: a ministry sees the country by governorate, a governor the
governorate by district, a qaimaqam the district by municipality, a focal point its
municipality. The figures are counts (`core.dashboard`), no family's record, so looking at
them or downloading them is not an audit event (exports of records are). A chart's CSV holds
exactly the numbers drawn: the same `Figures` feed both.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, g, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal, get_locale

from core import dashboard as figures
from core.area_counts import NO_AREA, Figures, RowKind, area_names
from core.clock import beirut_today
from core.dashboard import ROUND_CHARTS, Chart
from core.db import utcnow
from core.roles import Permission
from core.rounds import narrowing
from core.users import StaffUser
from texts import dashboard as text
from web import store
from web.auth import staff_required
from web.rounds import picked_round, round_codes
from webforms.charts import BarChart, render
from webforms.console import area_name
from webforms.csv_export import csv_download
from webforms.donations import dashboard_balances

bp = Blueprint("dashboard", __name__, template_folder="templates")


@bp.get("/console/dashboard")
@staff_required(Permission.VIEW_REPORTS)
def index() -> ResponseReturnValue:
    user: StaffUser = g.user
    counted = picked_round()
    board = figures.dashboard(store.db(), user.area, utcnow(), narrowing(store.db(), counted))
    labels = _row_labels(user)
    charts = {name: _chart(name, board.charts[name], labels) for name in Chart}
    return render_template(
        "dashboard/index.html",
        board=board,
        area=area_name(user),
        charts=charts,
        svg={name: render(c, _rtl(), _number) for name, c in charts.items()},
        text=text,
        number=_number,
        percent=_percent,
        duration=_duration,
        counted=counted,
        round_codes=round_codes(),
        round_charts=ROUND_CHARTS,
        donations=dashboard_balances(user),
    )


@bp.get("/console/dashboard/<name>.csv")
@staff_required(Permission.VIEW_REPORTS)
def chart_csv(name: str) -> ResponseReturnValue:
    """One chart's numbers: a row per bar group, a column per series, as drawn."""
    try:
        chart = Chart(name)
    except ValueError:
        abort(404)
    user: StaffUser = g.user
    counted = picked_round() if chart in ROUND_CHARTS else None
    numbers = figures.chart(store.db(), user.area, chart, utcnow(), narrowing(store.db(), counted))
    drawn = _chart(chart, numbers, _row_labels(user))
    header = [text.KEY_HEADERS[numbers.kind], text.ROW_HEADERS[numbers.kind]]
    # A round's chart says which round it counts: a last column holding the round's code.
    tail = ([str(text.ROUND_HEADER)], [counted.code]) if counted else ([], [])
    rows = [
        [key, label, *values, *tail[1]]
        for key, label, values in zip(drawn.row_keys, drawn.row_labels, drawn.values, strict=True)
    ]
    day = beirut_today().isoformat()  # the reader's day: after 22:00 UTC it is tomorrow's
    filename = f"dashboard-{chart.value}-{user.area.code}-{day}.csv"
    columns = [str(h) for h in header] + list(drawn.series_labels) + tail[0]
    return csv_download(filename, columns, rows)


def _chart(name: Chart, numbers: Figures, labels: dict[str, str]) -> BarChart:
    words = text.CHARTS[name]
    return BarChart(
        ident=f"chart-{name.value}",
        title=str(words.title),
        description=str(words.description),
        row_keys=numbers.rows,
        row_labels=[_row_label(numbers.kind, row, labels) for row in numbers.rows],
        series_keys=numbers.series,
        series_labels=[str(words.series[s]) for s in numbers.series],
        values=numbers.values,
        empty=str(text.EMPTY),
    )


def _row_labels(user: StaffUser) -> dict[str, str]:
    """The viewer's child areas by code, named in the page's language."""
    arabic = _rtl()
    names = area_names(store.db(), user.area)
    return {code: ar if arabic else en for code, (ar, en) in names.items()}


def _row_label(kind: RowKind, row: str, labels: dict[str, str]) -> str:
    if kind is RowKind.DAY:
        return str(format_date(date.fromisoformat(row), "EEE d MMM"))
    if kind is RowKind.CATEGORY:
        return str(text.CATEGORIES.get(row, row))
    return str(text.NO_AREA) if row == NO_AREA else labels.get(row, row)


def _rtl() -> bool:
    return str(get_locale()) == "ar"


def _number(value: int) -> str:
    return str(format_decimal(value))


def _percent(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage, or a dash when there is nothing to divide."""
    return f"{round(100 * part / whole)} %" if whole else "–"


def _duration(seconds: float | None) -> str:
    """A wait as minutes and seconds (`2:05`), a dash when there was none."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
