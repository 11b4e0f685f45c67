"""Why a family scored as it did: the terms that weighed most, with the answers behind them.

The complaint room must be able to say, in plain words, what raised or lowered a family's
predicted consumption. The stored score keeps each term's contribution; the answers behind
them are read again from the scored version with the stored formula, so the words shown are
exactly those of the score the list used.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.programme import Programme
from scoring.formula import Formula, ScoreResult
from scoring.lists import BeneficiaryList, ListEntry
from scoring.scores import Score, household_input, latest_score, scoring_date, stored_formula
from scoring.variables import CATEGORIES

TOP_REASONS = 5


@dataclass(frozen=True)
class Reason:
    """One term that moved the score."""

    term: str
    variable: str
    value: float  # the raw variable (a count, a ratio, LBP…)
    answer: str | None  # for a categorical variable: the form's answer
    contribution: float  # < 0: lower predicted consumption, i.e. more need


@dataclass(frozen=True)
class Explanation:
    score: Score
    formula_version: str
    illustrative: bool
    reasons: list[Reason]
    entry: ListEntry | None  # the family's line on the newest list, if any


def reasons(result: ScoreResult, formula: Formula, top: int = TOP_REASONS) -> list[Reason]:
    """The terms that weighed most, largest first; a term that did not apply is left out."""
    variables = {term.name: term.variable for term in formula.terms}
    weighed = [(name, c) for name, c in result.contributions.items() if c != 0]
    weighed.sort(key=lambda item: (-abs(item[1]), item[0]))
    return [_reason(name, variables[name], result, c) for name, c in weighed[:top]]


def _reason(term: str, variable: str, result: ScoreResult, contribution: float) -> Reason:
    value = result.variables.get(variable, 0.0)
    answers = CATEGORIES.get(variable)
    answer = answers[int(value)] if answers and 0 <= value < len(answers) else None
    return Reason(term, variable, value, answer, contribution)


def explain(session: Session, application: Application) -> Explanation | None:
    """The application's newest score, its main reasons, and its newest list outcome."""
    score = latest_score(session, application.id)
    if score is None:
        return None
    formula = stored_formula(session, score.formula_version)
    programme = session.get_one(Programme, application.programme_id)
    household = household_input(
        application.pages(), application.governorate_code, scoring_date(programme)
    )
    return Explanation(
        score=score,
        formula_version=formula.version,
        illustrative=formula.illustrative,
        reasons=reasons(formula.score(household), formula),
        entry=newest_entry(session, application.id),
    )


def published_entry(session: Session, application_id: int) -> ListEntry | None:
    """The family's line on the newest published list: what it has been told, and may ask."""
    stmt = (
        select(ListEntry)
        .join(BeneficiaryList, BeneficiaryList.id == ListEntry.list_id)
        .where(
            ListEntry.application_id == application_id,
            BeneficiaryList.published_at.is_not(None),
        )
        .order_by(BeneficiaryList.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def newest_entry(session: Session, application_id: int) -> ListEntry | None:
    """The family's line on the newest list that holds it."""
    stmt = (
        select(ListEntry)
        .join(BeneficiaryList, BeneficiaryList.id == ListEntry.list_id)
        .where(ListEntry.application_id == application_id)
        .order_by(BeneficiaryList.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()
