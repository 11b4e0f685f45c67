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
municipality's focal point, the health ministry nationally), see `shows_details`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import in_beirut
from core.covid_cases import (
    NO_CONTEXT,
    AgeBand,
    CaseClosed,
    CaseEvent,
    CaseOutcome,
    CaseReport,
    CaseStatus,
    Classification,
    EventKind,
    HealthInvalid,
    HealthProblem,
    IsolationPlace,
    QuarantineCentre,
    ResidentGroup,
    Sex,
    TestResult,
)
from core.db import utcnow
from core.digits import strip_marks, to_ascii_digits
from core.fields import (
    Cleaner,
    FieldError,
    FormInput,
    choice,
    clean_fields,
    day,
    optional,
    paragraphs,
    posted,
)
from core.geography import AreaLevel, Locality
from core.phones import NotLebaneseMobile, PhoneProblem, normalise_desk_phone
from core.references import check_digit, new_reference
from core.roles import Permission, can
from core.scopes import OutsideArea, Viewer, covers, visible
from core.users import StaffUser

FIRST_CASE = date(2020, 2, 21)  # Lebanon's first confirmed case: nothing is dated before it
CASE_DIGITS = 9
MAX_NOTES = 1000  # characters: a few lines for whoever follows the case up

_CENTRE_ID = re.compile(r"[0-9]{1,9}")  # a row id; anything longer is no centre's
_CASE_FIELDS: dict[str, Cleaner] = {
    "classification": choice(tuple(Classification)),
    "resident_group": choice(tuple(ResidentGroup)),
    "age_band": choice(tuple(AgeBand)),
    "sex": choice(tuple(Sex)),
    "isolation_place": choice(tuple(IsolationPlace)),
    # Plain text: markup and control characters are refused, as in every form.
    "notes": optional(paragraphs(MAX_NOTES)),
}
_CLOSES = {
    EventKind.ISOLATION_ENDED: CaseOutcome.ISOLATION_ENDED,
    EventKind.RECOVERED: CaseOutcome.RECOVERED,
    EventKind.DIED: CaseOutcome.DIED,
}


class _Refused(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(error.code)
        self.error = error


def beirut_today() -> date:
    return in_beirut(utcnow()).date()


# --- cleaning what was posted ---------------------------------------------------------------


def _collect(errors: list[FieldError], clean: Callable[[], Any]) -> Any:
    """The cleaned value, or None with the refusal added to `errors`."""
    try:
        return clean()
    except _Refused as refused:
        errors.append(refused.error)
        return None


def _first(form: FormInput, name: str) -> str:
    values = posted(form, name)
    return strip_marks(values[0]).strip() if values else ""


def _day(form: FormInput, name: str, earliest: date, today: date, too_early: FieldError) -> date:
    """A real YYYY-MM-DD day (any digits) from `earliest` to `today`."""
    data, errors = clean_fields({name: day}, form, NO_CONTEXT)
    if errors:
        raise _Refused(errors[0])
    value = date.fromisoformat(data[name])
    if value > today:
        raise _Refused(FieldError(name, HealthProblem.DAY_IN_FUTURE))
    if value < earliest:
        raise _Refused(too_early)
    return value


def _contact_phone(form: FormInput) -> str | None:
    """Optional; any Lebanese number, mobile or landline (it is called, never texted)."""
    typed = _first(form, "contact_phone")
    if not typed:
        return None
    try:
        return normalise_desk_phone(typed)
    except NotLebaneseMobile as problem:
        foreign = problem.problem is PhoneProblem.FOREIGN
        code = HealthProblem.PHONE_FOREIGN if foreign else HealthProblem.PHONE_INVALID
        raise _Refused(FieldError("contact_phone", code)) from None


def _centre(
    session: Session, form: FormInput, place: str | None, locality: str | None
) -> int | None:
    """The centre of a case isolated in one; it must be a centre of the case's municipality."""
    if place != IsolationPlace.QUARANTINE_CENTRE:
        return None  # a centre posted with another place is ignored, not stored
    typed = to_ascii_digits(_first(form, "centre"))
    if not typed:
        raise _Refused(FieldError("centre", HealthProblem.CENTRE_REQUIRED))
    found = None
    if _CENTRE_ID.fullmatch(typed):
        found = session.scalar(
            select(QuarantineCentre.id).where(
                QuarantineCentre.id == int(typed), QuarantineCentre.locality_code == locality
            )
        )
    if found is None:
        raise _Refused(FieldError("centre", HealthProblem.NOT_OWN_CENTRE))
    return int(found)


@dataclass(frozen=True)
class NewCase:
    """A case as validated, before it is stored."""

    classification: str
    resident_group: str
    age_band: str
    sex: str
    isolation_place: str
    centre_id: int | None
    reported_on: date
    contact_phone: str | None
    notes: str | None


def clean_case(session: Session, locality: str | None, form: FormInput, today: date) -> NewCase:
    """Every field of a new case of municipality `locality`, or HealthInvalid naming each."""
    data, errors = clean_fields(_CASE_FIELDS, form, NO_CONTEXT)
    too_early = FieldError(
        "reported_on", HealthProblem.DAY_TOO_EARLY, {"earliest": str(FIRST_CASE)}
    )
    reported_on = _collect(errors, lambda: _day(form, "reported_on", FIRST_CASE, today, too_early))
    phone = _collect(errors, lambda: _contact_phone(form))
    place = data.get("isolation_place")
    centre_id = _collect(errors, lambda: _centre(session, form, place, locality))
    if errors:
        raise HealthInvalid(errors)
    return NewCase(**data, centre_id=centre_id, reported_on=reported_on, contact_phone=phone)


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


def _event_fields(kind: str | None) -> dict[str, Cleaner]:
    if kind == EventKind.RESULT:
        return {"result": choice(tuple(TestResult))}
    if kind == EventKind.TRANSFERRED:
        return {"isolation_place": choice(tuple(IsolationPlace))}
    return {}


def clean_event(session: Session, case: CaseReport, form: FormInput, today: date) -> CaseEvent:
    """A follow-up of `case` as validated (not yet added), or HealthInvalid naming each field."""
    data, errors = clean_fields({"kind": choice(tuple(EventKind))}, form, NO_CONTEXT)
    more, more_errors = clean_fields(_event_fields(data.get("kind")), form, NO_CONTEXT)
    errors += more_errors
    reported = str(case.reported_on)
    before = FieldError("occurred_on", HealthProblem.BEFORE_REPORTED, {"reported": reported})
    day = _collect(errors, lambda: _day(form, "occurred_on", case.reported_on, today, before))
    place = more.get("isolation_place")
    centre_id = _collect(errors, lambda: _centre(session, form, place, case.locality_code))
    if place is not None and (place, centre_id) == (case.isolation_place, case.centre_id):
        errors.append(FieldError("isolation_place", HealthProblem.SAME_PLACE))
    if errors:
        raise HealthInvalid(errors)
    return CaseEvent(case_id=case.id, occurred_on=day, centre_id=centre_id, **data, **more)


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


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseLine:
    """A case with the names the console shows beside it."""

    case: CaseReport
    locality_ar: str
    locality_en: str
    centre_name: str | None


def _lines(stmt: Any) -> Any:
    """`stmt` over CaseReport joined to its municipality's names and its centre's name."""
    return (
        stmt.add_columns(Locality.name_ar, Locality.name_en, QuarantineCentre.name)
        .outerjoin(Locality, Locality.code == CaseReport.locality_code)
        .outerjoin(QuarantineCentre, QuarantineCentre.id == CaseReport.centre_id)
    )


def cases_visible_to(
    session: Session, viewer: Viewer, *, status: str | None = None, limit: int = 200
) -> list[CaseLine]:
    """The cases of the viewer's area, newest first."""
    stmt = select(CaseReport)
    if status:
        stmt = stmt.where(CaseReport.status == status)
    stmt = visible(stmt, viewer, CaseReport, Permission.VIEW_REPORTS)
    stmt = _lines(stmt).order_by(CaseReport.reported_at.desc(), CaseReport.id.desc()).limit(limit)
    return [CaseLine(*row) for row in session.execute(stmt)]


def case_for(session: Session, viewer: Viewer, case_id: int) -> CaseLine | None:
    """One case by id if the viewer's area covers it, else None (the page answers 404)."""
    row = session.execute(_lines(select(CaseReport).where(CaseReport.id == case_id))).first()
    if row is None or not covers(viewer, row[0], Permission.VIEW_REPORTS):
        return None
    return CaseLine(*row)


def may_follow_up(viewer: Viewer, case: CaseReport) -> bool:
    """Whether the viewer may record a follow-up: an active case of its own municipality."""
    return case.status == CaseStatus.ACTIVE and covers(viewer, case, Permission.REPORT_CASES)


def shows_details(viewer: Viewer, case: CaseReport) -> bool:
    """Whether the viewer reads the case's contact number and note (see the docstring)."""
    return covers(viewer, case, Permission.VIEW_CASE_DETAILS)


@dataclass(frozen=True)
class EventLine:
    event: CaseEvent
    centre_name: str | None


def events_of(session: Session, case: CaseReport) -> list[EventLine]:
    """A case's follow-ups in the order they were recorded."""
    stmt = (
        select(CaseEvent, QuarantineCentre.name)
        .outerjoin(QuarantineCentre, QuarantineCentre.id == CaseEvent.centre_id)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.id)
    )
    return [EventLine(event, name) for event, name in session.execute(stmt)]


# --- counts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCounts:
    """The cases of an area: active by classification, closed by outcome."""

    active: Counter[str]  # classification -> active cases
    closed: Counter[str]  # outcome -> closed cases

    @property
    def active_total(self) -> int:
        return sum(self.active.values())


def case_counts(session: Session, viewer: Viewer) -> CaseCounts:
    """One grouped count over the viewer's area (indexed by area and status)."""
    stmt = select(
        CaseReport.status, CaseReport.classification, CaseReport.outcome, func.count()
    ).group_by(CaseReport.status, CaseReport.classification, CaseReport.outcome)
    active: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for status, classification, outcome, n in session.execute(
        visible(stmt, viewer, CaseReport, Permission.VIEW_REPORTS)
    ):
        if status == CaseStatus.ACTIVE:
            active[classification] += n
        else:
            closed[outcome or ""] += n
    return CaseCounts(active, closed)


def active_cases_by(session: Session, viewer: Viewer, level: AreaLevel) -> dict[str, int]:
    """Active cases of the viewer's area by governorate, district or locality code."""
    column = {
        AreaLevel.GOVERNORATE: CaseReport.governorate_code,
        AreaLevel.DISTRICT: CaseReport.district_code,
        AreaLevel.LOCALITY: CaseReport.locality_code,
    }[level]
    stmt = (
        select(column, func.count()).where(CaseReport.status == CaseStatus.ACTIVE).group_by(column)
    )
    rows = session.execute(visible(stmt, viewer, CaseReport, Permission.VIEW_REPORTS))
    return {str(code): int(n) for code, n in rows}
