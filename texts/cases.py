"""The words of the case-report and quarantine-centre pages: labels, options, refusals.

Keys are `core.covid_cases`'s values and problem codes and the posted fields' names; the shared
form macros (`form/_fields.html`) read LABELS, HELP and OPTIONS from here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.covid_cases import (
    AgeBand,
    CaseOutcome,
    CaseStatus,
    Classification,
    EventKind,
    HealthProblem,
    IsolationPlace,
    Readiness,
    ResidentGroup,
    Sex,
    TestResult,
)
from core.fields import FieldError
from texts.forms import error_text

CLASSIFICATIONS: dict[str, LazyString] = {
    Classification.CONFIRMED: _l("Confirmed"),
    Classification.SUSPECTED: _l("Suspected"),
}
RESIDENT_GROUPS: dict[str, LazyString] = {
    ResidentGroup.LEBANESE: _l("Lebanese"),
    ResidentGroup.DISPLACED_SYRIAN: _l("Displaced Syrian"),
    ResidentGroup.PALESTINE_REFUGEE: _l("Palestine refugee"),
    ResidentGroup.OTHER: _l("Other nationality"),
}
AGE_BANDS: dict[str, LazyString] = {
    AgeBand.UNDER_10: _l("0 to 9 years"),
    AgeBand.FROM_10: _l("10 to 19 years"),
    AgeBand.FROM_20: _l("20 to 39 years"),
    AgeBand.FROM_40: _l("40 to 59 years"),
    AgeBand.FROM_60: _l("60 to 69 years"),
    AgeBand.FROM_70: _l("70 years and over"),
}
SEXES: dict[str, LazyString] = {Sex.FEMALE: _l("Female"), Sex.MALE: _l("Male")}
PLACES: dict[str, LazyString] = {
    IsolationPlace.HOME: _l("At home"),
    IsolationPlace.QUARANTINE_CENTRE: _l("Quarantine centre"),
    IsolationPlace.HOSPITAL: _l("Hospital"),
}
STATUSES: dict[str, LazyString] = {
    CaseStatus.ACTIVE: _l("Under follow-up"),
    CaseStatus.CLOSED: _l("Follow-up closed"),
}
OUTCOMES: dict[str, LazyString] = {
    CaseOutcome.RECOVERED: _l("Recovered"),
    CaseOutcome.DIED: _l("Died"),
    CaseOutcome.ISOLATION_ENDED: _l("Isolation ended"),
    CaseOutcome.RULED_OUT: _l("Ruled out (negative test)"),
}
EVENTS: dict[str, LazyString] = {
    EventKind.TESTED: _l("Tested (sample taken)"),
    EventKind.RESULT: _l("Test result"),
    EventKind.TRANSFERRED: _l("Moved to another place of isolation"),
    EventKind.ISOLATION_ENDED: _l("Isolation ended"),
    EventKind.RECOVERED: _l("Recovered"),
    EventKind.DIED: _l("Died"),
}
RESULTS: dict[str, LazyString] = {
    TestResult.POSITIVE: _l("Positive"),
    TestResult.NEGATIVE: _l("Negative"),
}
READINESS: dict[str, LazyString] = {
    Readiness.READY: _l("Ready to take people"),
    Readiness.PREPARING: _l("Being prepared"),
    Readiness.NOT_READY: _l("Not ready"),
}

# What the shared form macros read: a select's options by field, and every field's label.
OPTIONS: dict[str, dict[str, LazyString]] = {
    "classification": CLASSIFICATIONS,
    "resident_group": RESIDENT_GROUPS,
    "age_band": AGE_BANDS,
    "sex": SEXES,
    "isolation_place": PLACES,
    "kind": EVENTS,
    "result": RESULTS,
    "readiness": READINESS,
}
LABELS: dict[str, LazyString] = {
    "classification": _l("Classification"),
    "resident_group": _l("Resident group"),
    "age_band": _l("Age band"),
    "sex": _l("Sex"),
    "isolation_place": _l("Where the person is isolated"),
    "centre": _l("Quarantine centre"),
    "reported_on": _l("Day the municipality learnt of the case"),
    "contact_phone": _l("Contact number (optional)"),
    "notes": _l("Note (optional)"),
    "kind": _l("What happened"),
    "occurred_on": _l("Day it happened"),
    "result": _l("Result"),
    "name": _l("Name of the centre"),
    "capacity": _l("Beds"),
    "occupancy": _l("People there now"),
    "readiness": _l("Readiness"),
}
HELP: dict[str, LazyString] = {
    "contact_phone": _l(
        "To follow the case up. Only your municipality and the Ministry of Public Health see it."
    ),
    "notes": _l(
        "No name is needed. Only your municipality and the Ministry of Public Health see it."
    ),
    "result": _l("For a test result only."),
    "centre": _l("For a quarantine centre only: one of your municipality's centres."),
}

PROBLEMS: dict[str, LazyString] = {
    HealthProblem.DAY_IN_FUTURE: _l("This day is after today: check the date."),
    HealthProblem.DAY_TOO_EARLY: _l(
        "This day is before Lebanon's first case (%(earliest)s): check the date."
    ),
    HealthProblem.BEFORE_REPORTED: _l(
        "This day is before the case was reported (%(reported)s): check the date."
    ),
    HealthProblem.CENTRE_REQUIRED: _l(
        "Choose the quarantine centre. If it is not listed, add it first on the page of "
        "quarantine centres."
    ),
    HealthProblem.NOT_OWN_CENTRE: _l("Choose one of your municipality's quarantine centres."),
    HealthProblem.SAME_PLACE: _l("The person is already isolated there."),
    HealthProblem.PHONE_INVALID: _l(
        "This is not a phone number. Type a Lebanese number, e.g. 03 123 456 or 01 234 567."
    ),
    HealthProblem.PHONE_FOREIGN: _l("This number is not Lebanese. Type a Lebanese number."),
    HealthProblem.OVER_CAPACITY: _l(
        "More people than beds: at most %(capacity)s. Raise the beds first if the centre grew."
    ),
    HealthProblem.DUPLICATE_NAME: _l("Your municipality already has a centre of this name."),
}

CASE_CLOSED = _l("This case is closed: it takes no further follow-up.")


def error_messages(errors: list[FieldError]) -> dict[str, str]:
    """Each refused field's sentence in the current language, by field name."""
    return {
        e.field: str(PROBLEMS[e.code]) % dict(e.params) if e.code in PROBLEMS else error_text(e)
        for e in errors
    }
