"""Bar charts as inline SVG, drawn on the server: no script, no font, no file to fetch.

Our own small renderer rather than a library. pygal (the well-kept Python SVG charting
library) was tried with `js=[]`: it then links no script, but each chart is 16 KB of SVG with
a random id and a generation date in comments (so output is not reproducible), monospace
fonts by default, no `role`/`<desc>` for screen readers, and no right-to-left layout; its
labels are drawn for hover tooltips that need its script. What the dashboard needs is one
kind of chart, done well: horizontal grouped bars, which suit long Arabic and French area
names and any number of rows, mirrored for Arabic (labels on the right, bars growing to the
left), every number written beside its bar, a `<title>` and `<desc>` for assistive
technology, and every text escaped. About 3 KB per chart, the same bytes for the same data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 180  # the column of row labels
VALUE_ROOM = 70  # room for the number after the longest bar
BAR = 14  # a bar's height
GAP = 2  # between the bars of one row
ROW_GAP = 12  # between rows
TOP = 34  # the legend's band
MAX_LABEL = 28  # characters of a row label drawn (the full label is in each bar's title)
COLOURS = ("#0b4f8a", "#c77700", "#2e7d32", "#8c1d18")  # contrast ≥ 4.5:1 on white


@dataclass(frozen=True)
class BarChart:
    """What one chart draws: rows (areas, days, categories), each with a bar per series."""

    ident: str  # unique on the page; prefixes the ids of <title> and <desc>
    title: str
    description: str
    row_keys: Sequence[str]  # machine keys (area codes, ISO days), in data-row
    row_labels: Sequence[str]  # what a reader sees
    series_keys: Sequence[str]
    series_labels: Sequence[str]
    values: Sequence[Sequence[int]]  # values[row][series]
    empty: str  # said when there is no row


def render(chart: BarChart, rtl: bool, number: Callable[[int], str] = str) -> Markup:
    """The chart as an `<svg>` element; `number` formats a value for the reader's language."""
    rows = len(chart.row_keys)
    row_height = len(chart.series_keys) * (BAR + GAP) - GAP + ROW_GAP
    height = TOP + max(rows, 1) * row_height + 8
    ident = escape(chart.ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" direction="ltr" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-size="12" '
        f'font-family="system-ui, sans-serif">',
        f'<title id="{ident}-title">{escape(chart.title)}</title>',
        f'<desc id="{ident}-desc">{escape(chart.description)}</desc>',
        *_legend(chart, rtl),
    ]
    if not rows:
        x = WIDTH // 2
        parts.append(
            f'<text x="{x}" y="{TOP + 14}" text-anchor="middle">{escape(chart.empty)}</text>'
        )
    top = max((max(row, default=0) for row in chart.values), default=0) or 1
    for n in range(rows):
        parts += _row(chart, n, TOP + n * row_height, top, rtl, number)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _legend(chart: BarChart, rtl: bool) -> list[str]:
    """A coloured square and the series' name, in reading order."""
    parts, x = [], WIDTH - 8 if rtl else 8
    for n, label in enumerate(chart.series_labels):
        square = x - 12 if rtl else x
        anchor = "end" if rtl else "start"
        text_x = x - 16 if rtl else x + 16
        parts.append(
            f'<rect x="{square}" y="8" width="12" height="12" fill="{COLOURS[n % len(COLOURS)]}"/>'
            f'<text x="{text_x}" y="18" text-anchor="{anchor}">{escape(label)}</text>'
        )
        step = 16 + 7 * len(label) + 24
        x = x - step if rtl else x + step
    return parts


def _row(
    chart: BarChart, n: int, y: int, top: int, rtl: bool, number: Callable[[int], str]
) -> list[str]:
    label = chart.row_labels[n]
    shown = label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
    label_x = WIDTH - 8 if rtl else LABEL_WIDTH - 8
    parts = [
        f'<text class="label" x="{label_x}" y="{y + BAR - 2}" text-anchor="end">'
        f"{escape(shown)}</text>"
    ]
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    start = WIDTH - LABEL_WIDTH if rtl else LABEL_WIDTH
    for s, key in enumerate(chart.series_keys):
        value = chart.values[n][s]
        length = round(room * value / top)
        bar_y = y + s * (BAR + GAP)
        x = start - length if rtl else start
        value_x = x - 4 if rtl else start + length + 4
        text = escape(number(value))
        parts.append(
            f'<g class="bar" data-row="{escape(chart.row_keys[n])}" data-series="{escape(key)}" '
            f'data-value="{value}"><title>{escape(label)} · {escape(chart.series_labels[s])}: '
            f"{text}</title>"
            f'<rect x="{x}" y="{bar_y}" width="{length}" height="{BAR}" '
            f'fill="{COLOURS[s % len(COLOURS)]}"/>'
            f'<text class="value" x="{value_x}" y="{bar_y + BAR - 3}" '
            f'text-anchor="{"end" if rtl else "start"}">{text}</text></g>'
        )
    return parts
