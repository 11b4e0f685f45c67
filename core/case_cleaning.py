"""A COVID-19 case and a follow-up as posted, cleaned: every field checked, each refusal named.

Days are real days (in any digits) between their earliest and today; the contact number is any
Lebanese number; a quarantine centre must be one of the case's own municipality.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.covid_cases import (
    NO_CONTEXT,
    AgeBand,
    CaseEvent,
    CaseReport,
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
from core.phones import NotLebaneseMobile, PhoneProblem, normalise_desk_phone

FIRST_CASE = date(2020, 2, 21)  # Lebanon's first confirmed case: nothing is dated before it
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


class _Refused(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(error.code)
        self.error = error


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
