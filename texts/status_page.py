"""The words of `/status`: the code's SMS, what went wrong with what was typed, and each step.

The page says the same thing whether or not a reference exists until the code is right, so
there is one message for a code on its way, whatever happened to it.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.sayings import Stage
from core.segments import strip_invisibles
from distribution.citizen_status import CitizenStatus
from scoring.lists import Outcome
from texts.forms import INELIGIBLE_REASONS
from texts.lists import reason_text


def code_sms(code: str, language: str) -> str:
    """The SMS that carries a code (the code in ASCII digits: the notifications forget it)."""
    with force_locale(language):
        text = _(
            "1766: your code to see your application's status is %(code)s. "
            "It works once, for 10 minutes. Never give it to anyone.",
            code=code,
        )
    return strip_invisibles(text)


class Problem(StrEnum):
    """What was wrong with what the citizen sent, each said in one sentence."""

    NO_REFERENCE = "no_reference"
    BAD_REFERENCE = "bad_reference"
    BAD_CODE = "bad_code"
    WRONG_CODE = "wrong_code"
    THROTTLED = "throttled"


PROBLEMS: dict[Problem, LazyString] = {
    Problem.NO_REFERENCE: _l("Type the 10 digits of your application's reference."),
    Problem.BAD_REFERENCE: _l(
        "This is not an application reference. Check the 10 digits on your receipt or in the "
        "SMS you received."
    ),
    Problem.BAD_CODE: _l("The code has 6 digits. Type the code from the SMS."),
    Problem.WRONG_CODE: _l(
        "This code does not open the application: it is wrong, already used or older than "
        "10 minutes. Check it, or ask for a new code."
    ),
    Problem.THROTTLED: _l(
        "Too many attempts from this connection or for this reference. Wait an hour and try "
        "again, or call 1766."
    ),
}


def eligibility_words(status: CitizenStatus) -> str:
    """Eligible or not and why, once known ("" while the application is being checked)."""
    if status.ineligible_reason is not None:
        return str(
            INELIGIBLE_REASONS.get(status.ineligible_reason, _l("Not eligible under the rules."))
        )
    if status.outcome == Outcome.EXCLUDED:
        return str(_("Not eligible: %(reason)s.", reason=reason_text(status.outcome_reason)))
    if status.stage is Stage.UNDER_REVIEW:
        return str(
            _(
                "A member of the household is also on another family's form: "
                "the committee reviews it."
            )
        )
    if status.outcome is not None:
        return str(_("Eligible under the programme's rules."))
    return ""


def selection_words(status: CitizenStatus) -> str:
    """Selected or not and why, once the list is published ("" before)."""
    if status.outcome == Outcome.SELECTED:
        return str(_("Selected: your family is on the assistance list."))
    if status.outcome == Outcome.NOT_SELECTED:
        return str(
            _(
                "Not selected: %(reason)s.",
                reason=reason_text(status.outcome_reason or "above_cutoff"),
            )
        )
    if status.outcome == Outcome.EXCLUDED:
        return str(_("Not selected, because the application is not eligible."))
    return ""
