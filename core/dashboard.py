"""The dashboard of one area: its figures by the next level down and by Beirut day.

A ministry's dashboard counts the country by governorate, a governor's the governorate by
district, a qaimaqam's the district by municipality, a municipality's itself. Every figure is
counted in the store, never in Python, and narrowed by `core.scopes.area_condition`.

How each figure is counted fast at a million applications (one index-only statement each):
see `core.area_counts`.

Decisions where the issue is silent:

- Links and forms (their charts, and the daily chart) count one round, the one the page picks
  (core/rounds.py); the other figures are not a round's (complaints, calls, cases, SMS,
  decisions, needs) and count everything. The daily charts cover the last 14 Beirut days,
  today included.
- Links *sent* are links texted to a citizen (by a municipality, or asked from 1766); an
  assisted entry is a form, not a sent link. *Opened*: the citizen opened the form. *Used*:
  the form was submitted through it.
- A form is *started* when its first page is saved (`Link.started_at`, texted or assisted),
  *completed* when the application is stored. Correction links are neither.
- The acknowledgement's *delivery rate* is delivered over sent, where sent means handed to
  the gateway (any status past `sending`): an SMS still owed counts neither way.
- Complaints *open* are active tickets (open or in progress); *overdue* are active ones whose
  deadline has passed (`Ticket.is_overdue`). A municipality's count leaves misconduct out, as
  its list of complaints does (`core.tickets`).
- Calls: the wait is from joining the complaint room's queue to an agent taking the call, for
  answered calls; mean and 90th percentile (nearest rank) over the 14 days. The 1766 line
  knows no caller's municipality, so calls are national records: below the national level the
  figures are those of calls that carry an area (normally none).
- Decisions in effect: a municipality's decisions whose dates include today (Beirut), by
  category; circulars are national and published to everyone, so every level counts them all.
- Needs: this week's reports (Monday to Sunday, Beirut): food parcels and hygiene kits asked,
  and how many of the area's municipalities filed.
- SMS *not delivered*: any outbound SMS of the area the carrier gave up on or the gateway
  refused, with no new try after it (core/resends.py): what reached no phone after every
  try. One still being tried again is not counted; the try it waits for will be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, aliased

from core.applications import Application
from core.area_counts import (
    Figures,
    Measure,
    RowKind,
    area_figures,
    beirut_days,
    by_area_total,
    child_codes,
    const,
    day_figures,
    one_of,
    seconds_between,
    within,
)
from core.calls import Call, CallStatus
from core.clock import beirut_day
from core.covid_cases import CaseReport, CaseStatus, Classification
from core.decisions import Decision, DecisionCategory, DecisionKind
from core.geography import Area, AreaLevel, Locality
from core.links import Channel, Link
from core.messages import NOT_HANDED, Message, MessageStatus
from core.needs import NeedsReport
from core.resends import NOT_DELIVERED
from core.scopes import area_condition
from core.tickets import ACTIVE, Ticket, TicketCategory

RECEIPT = "receipt"  # the purpose of the acknowledgement SMS (core/receipts.py)
SENT_CHANNELS = (Channel.SMS_LINK, Channel.HOTLINE)
OWED = NOT_HANDED  # not (yet) handed to the gateway: owed, being sent, or withheld


class Chart(StrEnum):
    """The dashboard's charts; the value is the name in its CSV's URL."""

    LINKS = "links"  # by area: links sent, opened, used
    FORMS = "forms"  # by area: forms started, completed
    DAILY = "daily"  # by day: links sent, forms completed
    ACKNOWLEDGEMENTS = "acknowledgements"  # by area: acknowledgements sent, delivered
    COMPLAINTS = "complaints"  # by area: complaints open, overdue
    CALLS = "calls"  # by day: calls, abandoned calls
    CASES = "cases"  # by area: active cases, confirmed and suspected
    DECISIONS = "decisions"  # by category: municipal decisions in effect
    NEEDS = "needs"  # by area: this week's food parcels and hygiene kits
    UNDELIVERED = "undelivered"  # by area: SMS not delivered after every try


# The charts that count one round's records (their CSVs carry the round's code).
ROUND_CHARTS = frozenset({Chart.LINKS, Chart.FORMS, Chart.DAILY})


@dataclass(frozen=True)
class Dashboard:
    """Everything the page shows for one area at one moment."""

    area: Area
    now: datetime
    charts: dict[Chart, Figures]
    waits: tuple[int, float | None, float | None]  # answered calls, mean and p90 wait (s)
    circulars: int
    filed: int  # municipalities that filed this week's needs
    municipalities: int  # in the area (what "filed" is out of)
    week_start: date

    def rate(self, part: int, whole: int) -> float | None:
        return part / whole if whole else None


LINKS_SENT = Measure(Link, (one_of(Link.channel, SENT_CHANNELS),))
LINKS_OPENED = Measure(Link, (one_of(Link.channel, SENT_CHANNELS), Link.opened_at.is_not(None)))
LINKS_USED = Measure(Link, (one_of(Link.channel, SENT_CHANNELS), Link.used_at.is_not(None)))
FORMS_STARTED = Measure(
    Link, (Link.channel != const(Channel.CORRECTION), Link.started_at.is_not(None))
)
FORMS_COMPLETED = Measure(Application)
_HANDED = (Message.purpose == const(RECEIPT), Message.status.not_in([const(s) for s in OWED]))
RECEIPTS_SENT = Measure(Message, _HANDED)
RECEIPTS_DELIVERED = Measure(Message, (*_HANDED, Message.status == const(MessageStatus.DELIVERED)))
_NEW_TRY = aliased(Message)
# Read through the status index (few rows are final failures), each row's new try through
# the unique index on `resend_of`: no scan of the message log.
UNDELIVERED = Measure(
    Message,
    (
        one_of(Message.status, NOT_DELIVERED),
        ~exists().where(_NEW_TRY.resend_of == Message.id),
    ),
)
CASES = {
    c.value: Measure(
        CaseReport,
        (CaseReport.status == const(CaseStatus.ACTIVE), CaseReport.classification == const(c)),
    )
    for c in Classification
}
CALLS_ALL = Measure(Call)
CALLS_ABANDONED = Measure(Call, (Call.status == const(CallStatus.ABANDONED),))


# --- time in the complaint room's queue ----------------------------------------------------


def call_waits(
    session: Session, area: Area, since: datetime
) -> tuple[int, float | None, float | None]:
    """Answered calls since `since`, their mean wait and 90th-percentile wait, in seconds.

    The percentile is the nearest rank (the value below which 90 % of waits fall), read by
    one ordered index-friendly statement: a top-N sort keeps only the slowest tenth.
    """
    wait = seconds_between(Call.queued_at, Call.answered_at)
    answered = (
        within(Call, area),
        Call.started_at >= since,
        Call.queued_at.is_not(None),
        Call.answered_at.is_not(None),
    )
    count, mean = session.execute(select(func.count(), func.avg(wait)).where(*answered)).one()
    if not count:
        return 0, None, None
    slower = count - math.ceil(0.9 * count)  # waits ranked above the percentile's
    p90 = session.scalar(
        select(wait).where(*answered).order_by(wait.desc()).offset(slower).limit(1)
    )
    return int(count), float(mean), float(p90) if p90 is not None else None


# --- each chart ------------------------------------------------------------------------


def complaint_measures(area: Area, now: datetime) -> dict[str, Measure]:
    """Open and overdue tickets; a municipality's figures leave misconduct out."""
    where: tuple[ColumnElement[bool], ...] = (one_of(Ticket.status, ACTIVE),)
    if area.level is AreaLevel.LOCALITY:
        where += (Ticket.category != const(TicketCategory.MISCONDUCT),)
    return {
        "open": Measure(Ticket, where),
        "overdue": Measure(Ticket, (*where, Ticket.due_at <= now)),
    }


def needs_measures(week_start: date) -> dict[str, Measure]:
    this_week = (NeedsReport.week_start == week_start,)
    return {
        "food_parcels": Measure(NeedsReport, this_week, NeedsReport.food_parcels),
        "hygiene_kits": Measure(NeedsReport, this_week, NeedsReport.hygiene_kits),
    }


def decisions_in_effect(session: Session, area: Area, today: date) -> Figures:
    """The area's municipal decisions in effect today, by category (a small table)."""
    category = Decision.category
    stmt = (
        select(category, func.count())
        .where(
            area_condition(Decision, area),
            Decision.kind == DecisionKind.MUNICIPAL,
            Decision.effective_from <= today,
            (Decision.effective_until.is_(None)) | (Decision.effective_until >= today),
        )
        .group_by(category)
    )
    found = {str(c): int(n) for c, n in session.execute(stmt)}
    rows = tuple(c.value for c in DecisionCategory)
    values = tuple((found.get(row, 0),) for row in rows)
    return Figures(RowKind.CATEGORY, rows, ("in_effect",), values)


def circulars(session: Session) -> int:
    """Circulars published: national, read by every level."""
    stmt = select(func.count()).where(Decision.kind == DecisionKind.CIRCULAR)
    return int(session.scalar(stmt) or 0)


def filed_this_week(session: Session, area: Area, week_start: date) -> int:
    """The area's municipalities that filed the week's needs (one report each)."""
    return by_area_total(
        session, area, Measure(NeedsReport, (NeedsReport.week_start == week_start,))
    )


def municipalities(session: Session, area: Area) -> int:
    """How many municipalities the area holds (what "filed" is out of)."""
    stmt = select(func.count()).select_from(Locality)
    column = {
        AreaLevel.GOVERNORATE: Locality.governorate_code,
        AreaLevel.DISTRICT: Locality.district_code,
        AreaLevel.LOCALITY: Locality.code,
    }.get(area.level)
    if column is not None:
        stmt = stmt.where(column == area.code)
    return int(session.scalar(stmt) or 0)


def week_start_of(today: date) -> date:
    """The Monday of `today`'s week (weeks of needs run Monday to Sunday)."""
    return today - timedelta(days=today.weekday())


def in_round(measure: Measure, programme_id: int | None) -> Measure:
    """The measure narrowed to one round, when its records belong to rounds (links, forms)."""
    column = getattr(measure.model, "programme_id", None)
    if programme_id is None or column is None:
        return measure
    return Measure(measure.model, (*measure.where, column == programme_id), measure.value)


def chart(
    session: Session, area: Area, name: Chart, now: datetime, programme_id: int | None = None
) -> Figures:
    """One chart's figures (what its CSV holds); links and forms of round `programme_id`."""
    today = beirut_day(now)
    if name is Chart.DAILY:
        return day_figures(
            session,
            area,
            {
                "links_sent": (in_round(LINKS_SENT, programme_id), Link.created_on),
                "forms_completed": (
                    in_round(FORMS_COMPLETED, programme_id),
                    Application.submitted_on,
                ),
            },
            today,
        )
    if name is Chart.CALLS:
        daily = {
            "calls": (CALLS_ALL, Call.started_at),
            "abandoned": (CALLS_ABANDONED, Call.started_at),
        }
        return day_figures(session, area, daily, today)
    if name is Chart.DECISIONS:
        return decisions_in_effect(session, area, today)
    measures = {k: in_round(m, programme_id) for k, m in _area_measures(name, area, now).items()}
    return area_figures(session, area, measures, child_codes(session, area))


def _area_measures(name: Chart, area: Area, now: datetime) -> dict[str, Measure]:
    if name is Chart.LINKS:
        return {"sent": LINKS_SENT, "opened": LINKS_OPENED, "used": LINKS_USED}
    if name is Chart.FORMS:
        return {"started": FORMS_STARTED, "completed": FORMS_COMPLETED}
    if name is Chart.ACKNOWLEDGEMENTS:
        return {"sent": RECEIPTS_SENT, "delivered": RECEIPTS_DELIVERED}
    if name is Chart.COMPLAINTS:
        return complaint_measures(area, now)
    if name is Chart.CASES:
        return CASES
    if name is Chart.UNDELIVERED:
        return {"undelivered": UNDELIVERED}
    return needs_measures(week_start_of(beirut_day(now)))


def dashboard(
    session: Session, area: Area, now: datetime, programme_id: int | None = None
) -> Dashboard:
    """Every chart and figure of `area`'s dashboard, as of `now` (links and forms of one round)."""
    today = beirut_day(now)
    since = beirut_days(today)[0][1]
    return Dashboard(
        area=area,
        now=now,
        charts={name: chart(session, area, name, now, programme_id) for name in Chart},
        waits=call_waits(session, area, since),
        circulars=circulars(session),
        filed=filed_this_week(session, area, week_start_of(today)),
        municipalities=municipalities(session, area),
        week_start=week_start_of(today),
    )
