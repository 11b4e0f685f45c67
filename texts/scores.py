"""A score's reasons in plain words, for the agent who explains it to the family on the phone.

Each reason is one whole sentence: the fact the form gave (six people, 250,000 LBP a month
per person, a rented single room…) and whether it points to greater or to less need. A term
that lowers predicted consumption points to greater need.
"""

from __future__ import annotations

from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Session

from core.applications import Application
from core.geography import Governorate
from scoring.explain import Explanation, Reason, explain
from texts.forms import value_text
from texts.lists import reason_text

# The fact behind each variable; %(value)s is the household's own figure or answer.
FACTS: dict[str, LazyString] = {
    "household_size": _l("Household of %(value)s people"),
    "children": _l("Children under 15: %(value)s"),
    "elderly": _l("People aged 65 or more: %(value)s"),
    "dependency_ratio": _l("Dependants per working-age adult: %(value)s"),
    "disabled": _l("Members with a disability: %(value)s"),
    "chronically_ill": _l("Members with a chronic illness: %(value)s"),
    "out_of_school": _l("Children of school age not in school: %(value)s"),
    "female_head": _l("The head of household is a woman"),
    "head_education": _l("Head of household's education: %(value)s"),
    "head_work": _l("Head of household's work: %(value)s"),
    "members_working": _l("People in work: %(value)s"),
    "housing_tenure": _l("Housing: %(value)s"),
    "housing_type": _l("Type of housing: %(value)s"),
    "crowding": _l("People per room: %(value)s"),
    "assets_count": _l("Household items owned: %(value)s"),
    "asset": _l("The household has: %(value)s"),
    "cars": _l("Cars: %(value)s"),
    "income_per_capita": _l("Income per person: %(value)s LBP a month"),
    "lost_income_covid": _l("Income lost or cut since the general mobilisation"),
    "governorate": _l("Region: %(value)s"),
}

DIMENSION_LABELS: dict[str, LazyString] = {
    "income": _l("income"),
    "housing": _l("housing"),
    "health": _l("health"),
    "education": _l("children's education"),
    "assets": _l("household items"),
}

_FRACTIONAL = {"dependency_ratio", "crowding"}


def sentence(reason: Reason, region_name: str | None = None) -> str:
    """One reason as the agent reads it out."""
    fact = _fact(reason, region_name)
    if reason.contribution < 0:
        return _("%(fact)s: this points to greater need.", fact=fact)
    return _("%(fact)s: this points to less need.", fact=fact)


def _fact(reason: Reason, region_name: str | None) -> str:
    if reason.variable.startswith("asset_"):
        item = value_text("assets", [reason.variable.removeprefix("asset_")])
        return str(FACTS["asset"]) % {"value": item}
    template = FACTS.get(reason.variable)
    if template is None:
        return reason.variable  # a variable a newer formula reads; still shown, unworded
    return str(template) % {"value": _value(reason, region_name)}


def _value(reason: Reason, region_name: str | None) -> str:
    if reason.variable == "governorate":
        return region_name or reason.answer or "—"
    if reason.answer is not None:
        return value_text(reason.variable, reason.answer)
    if reason.variable in _FRACTIONAL:
        return format_decimal(round(reason.value, 1))
    return format_decimal(round(reason.value))


def deprivations(deprived: tuple[str, ...]) -> str:
    """The poverty index's deprived dimensions, listed in words."""
    return ", ".join(str(DIMENSION_LABELS.get(d, d)) for d in deprived) or "—"


OUTCOMES: dict[str, LazyString] = {
    "selected": _l("Selected on list %(number)s"),
    "not_selected": _l("Not selected on list %(number)s: %(reason)s"),
    "excluded": _l("Excluded from list %(number)s: %(reason)s"),
}


def describe(explanation: Explanation, region_name: str | None = None) -> dict[str, object]:
    """What the caller page shows of one application's score and list outcome."""
    score = explanation.score
    entry = explanation.entry
    outcome = None
    if entry is not None:
        template = OUTCOMES.get(entry.outcome, OUTCOMES["excluded"])
        outcome = str(template) % {"number": entry.list_id, "reason": reason_text(entry.reason)}
    return {
        "value": format_decimal(score.value, "0.000"),
        "formula": explanation.formula_version,
        "illustrative": explanation.illustrative,
        "poverty_count": score.poverty_count,
        "deprived": deprivations(score.deprived_dimensions()),
        "sentences": [sentence(r, region_name) for r in explanation.reasons],
        "outcome": outcome,
    }


def score_view(session: Session, application: Application) -> dict[str, object] | None:
    """Why the family scored as it did, in words staff can read out (None: not scored yet)."""
    explanation = explain(session, application)
    if explanation is None:
        return None
    region = session.get(Governorate, application.governorate_code or "")
    name = (region.name_ar if str(get_locale()) == "ar" else region.name_en) if region else None
    return describe(explanation, name)
