"""The dashboard's words: each chart's title and description, its series, its rows' kind.

Keys are `core.dashboard`'s chart and series names and `core.decisions`' categories.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.area_counts import RowKind
from core.dashboard import Chart
from core.decisions import DecisionCategory


@dataclass(frozen=True)
class ChartText:
    title: LazyString
    description: LazyString  # what the bars are, for the reader and for screen readers
    series: dict[str, LazyString]


CHARTS: dict[Chart, ChartText] = {
    Chart.LINKS: ChartText(
        _l("Form links"),
        _l(
            "Links texted to citizens, how many were opened and how many were used to send a "
            "form, by area."
        ),
        {"sent": _l("Links sent"), "opened": _l("Links opened"), "used": _l("Links used")},
    ),
    Chart.FORMS: ChartText(
        _l("Forms"),
        _l(
            "Forms started (a first page saved, by a citizen or during a call) and forms "
            "completed, by area."
        ),
        {"started": _l("Forms started"), "completed": _l("Forms completed")},
    ),
    Chart.DAILY: ChartText(
        _l("Links and forms by day"),
        _l("Links texted and forms completed on each of the last 14 days (Beirut time)."),
        {"links_sent": _l("Links sent"), "forms_completed": _l("Forms completed")},
    ),
    Chart.ACKNOWLEDGEMENTS: ChartText(
        _l("Acknowledgement SMS"),
        _l("Acknowledgements handed to the SMS gateway and those the phone confirmed, by area."),
        {"sent": _l("Acknowledgements sent"), "delivered": _l("Acknowledgements delivered")},
    ),
    Chart.COMPLAINTS: ChartText(
        _l("Complaints"),
        _l("Complaints open or in progress, and those of them past their deadline, by area."),
        {"open": _l("Open complaints"), "overdue": _l("Overdue complaints")},
    ),
    Chart.CALLS: ChartText(
        _l("Calls to 1766 by day"),
        _l(
            "Calls to the 1766 line and calls abandoned while waiting for an agent, on each of "
            "the last 14 days."
        ),
        {"calls": _l("Calls"), "abandoned": _l("Abandoned calls")},
    ),
    Chart.CASES: ChartText(
        _l("Active COVID-19 cases"),
        _l("Cases still followed by their municipality, confirmed and suspected, by area."),
        {"confirmed": _l("Confirmed cases"), "suspected": _l("Suspected cases")},
    ),
    Chart.DECISIONS: ChartText(
        _l("Municipal decisions in effect"),
        _l("Decisions of the area's municipalities in effect today, by category."),
        {"in_effect": _l("Decisions in effect")},
    ),
    Chart.NEEDS: ChartText(
        _l("This week's needs"),
        _l("Food parcels and hygiene kits asked for in this week's reports, by area."),
        {"food_parcels": _l("Food parcels"), "hygiene_kits": _l("Hygiene kits")},
    ),
    Chart.UNDELIVERED: ChartText(
        _l("SMS not delivered after every try"),
        _l(
            "SMS that reached no phone after every try (later, by the other provider, at the "
            "family's second mobile), by area."
        ),
        {"undelivered": _l("SMS not delivered after every try")},
    ),
}

# A chart's CSV: the row's key, then its name, then a column per series.
KEY_HEADERS: dict[RowKind, LazyString] = {
    RowKind.AREA: _l("Area code"),
    RowKind.DAY: _l("Date"),
    RowKind.CATEGORY: _l("Category code"),
}
ROW_HEADERS: dict[RowKind, LazyString] = {
    RowKind.AREA: _l("Area"),
    RowKind.DAY: _l("Day"),
    RowKind.CATEGORY: _l("Category"),
}
ROUND_HEADER = _l("Round")  # the last column of a round's chart: the round's code

CATEGORIES: dict[str, LazyString] = {
    DecisionCategory.CURFEW: _l("Curfew"),
    DecisionCategory.CLOSURE: _l("Closure"),
    DecisionCategory.AID: _l("Aid"),
    DecisionCategory.QUARANTINE: _l("Quarantine"),
    DecisionCategory.OTHER: _l("Other"),
}

NO_AREA = _l("No area (asked from 1766)")
EMPTY = _l("Nothing to count yet.")
