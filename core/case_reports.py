"""Reporting a COVID-19 case, following it up, and who reads what of it.

A focal point reports a case of its municipality; the case takes the municipality's area and
a nine-digit number staff quote (eight random digits and a Verhoeff check digit, so a
misheard digit is caught; nine digits, so it is never taken for a ticket's eight or an
application's ten). Each follow-up is an event; what an event does to its case:

| event           | suspected, active            | confirmed, active        | closed  |
| --------------- | ---------------------------- | ------------------------ | ------- |
| tested          | recorded                     | recorded                 | refused |
| result positive | becomes confirmed            | recorded                 | refused |
| result negative | closed, outcome ruled_out    | recorded (stays active)  | refused |
| transferred     | new place (and centre)       | new place (and centre)   | refused |
| isolation_ended | closed, outcome isolation_ended (either classification) | | refused |
| recovered, died | closed with that outcome (either classification)        | | refused |

A follow-up is dated between the day the case was reported and today (Beirut's day). A case
is dated from Lebanon's first case (21 February 2020) to today.

Reading: the counts and the non-personal fields go to every role with VIEW_REPORTS in its
area; the contact number and the note only to VIEW_CASE_DETAILS within its area (the
municipality's focal point, the health ministry nationally), see
`core.case_reading.shows_details`. What is posted is cleaned in `core.case_cleaning`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.case_cleaning import clean_case, clean_event
from core.clock import beirut_today
from core.covid_cases import (
    CaseClosed,
    CaseEvent,
    CaseOutcome,
    CaseReport,
    CaseStatus,
    Classification,
    EventKind,
    TestResult,
)
from core.db import utcnow
from core.fields import FormInput
from core.geography import AreaLevel
from core.references import check_digit, new_reference
from core.roles import Permission, can
from core.scopes import OutsideArea, covers
from core.users import StaffUser

CASE_DIGITS = 9
_CLOSES = {
    EventKind.ISOLATION_ENDED: CaseOutcome.ISOLATION_ENDED,
    EventKind.RECOVERED: CaseOutcome.RECOVERED,
    EventKind.DIED: CaseOutcome.DIED,
}


# --- reporting ------------------------------------------------------------------------------


def new_case_number(session: Session) -> str:
    """Nine digits with a check digit, drawn again in the rare case it is taken."""
    while True:
        body = new_reference()[: CASE_DIGITS - 1]  # the first digit is never 0
        number = body + check_digit(body)
        if session.scalar(select(CaseReport.id).where(CaseReport.number == number)) is None:
            return number


def report_case(
    session: Session, reporter: StaffUser, form: FormInput, today: date | None = None
) -> CaseReport:
    """A new case of the reporter's municipality, audited; nothing is stored if refused."""
    if not can(reporter.role, Permission.REPORT_CASES) or (
        reporter.area.level is not AreaLevel.LOCALITY
    ):
        raise OutsideArea()
    new = clean_case(session, reporter.area.locality_code, form, today or beirut_today())
    case = CaseReport(
        number=new_case_number(session),
        status=CaseStatus.ACTIVE,
        reported_at=utcnow(),
        reported_by_id=reporter.id,
        **asdict(new),
    )
    case.place_in(reporter.area)
    session.add(case)
    session.flush()
    details: dict[str, audit.Scalar] = {"number": case.number, "locality": case.locality_code or ""}
    audit.record(session, reporter.username, "case.reported", "case", str(case.id), details)
    return case


# --- following up ---------------------------------------------------------------------------


def _lock(session: Session, case: CaseReport) -> None:
    """Re-read the case under a row lock: two follow-ups at once cannot both close it."""
    stmt = (
        select(CaseReport)
        .where(CaseReport.id == case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session.scalars(stmt).one()


def apply_event(case: CaseReport, event: CaseEvent) -> None:
    """What the event does to its case: the table of this module's docstring."""
    kind = EventKind(event.kind)
    if kind in _CLOSES:
        _close(case, _CLOSES[kind])
    elif kind is EventKind.RESULT and event.result == TestResult.POSITIVE:
        case.classification = Classification.CONFIRMED
    elif kind is EventKind.RESULT and case.classification == Classification.SUSPECTED:
        _close(case, CaseOutcome.RULED_OUT)
    elif kind is EventKind.TRANSFERRED:
        case.isolation_place, case.centre_id = str(event.isolation_place), event.centre_id


def _close(case: CaseReport, outcome: CaseOutcome) -> None:
    case.status, case.outcome, case.closed_at = CaseStatus.CLOSED, outcome, utcnow()


def record_event(
    session: Session, case: CaseReport, user: StaffUser, form: FormInput, today: date | None = None
) -> CaseEvent:
    """A follow-up of an active case by its municipality, applied and audited."""
    if not covers(user, case, Permission.REPORT_CASES):
        raise OutsideArea()
    _lock(session, case)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed()
    event = clean_event(session, case, form, today or beirut_today())
    event.recorded_at, event.recorded_by_id = utcnow(), user.id
    apply_event(case, event)
    session.add(event)
    session.flush()
    details: dict[str, audit.Scalar] = {
        "number": case.number,
        "event": event.kind,
        "status": case.status,
        "outcome": case.outcome or "",
    }
    audit.record(session, user.username, "case.followed_up", "case", str(case.id), details)
    return event
