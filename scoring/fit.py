"""Fitting a formula's weights on a household survey, and measuring how well it targets.

The weights are ordinary least squares (`numpy.linalg.lstsq`) of the survey's log consumption
per person on the template formula's terms, so a fitted formula has exactly the template's
terms, in its order, with new weights. How well it targets is measured on households held
out of the fit (a deterministic split by seed), as the programme would use it: select the
lowest-scored share of households and compare with those who are truly the poorest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from scoring.formula import Formula, load_formula
from scoring.survey import Survey, SurveyError, read_survey
from scoring.transforms import Column

__all__ = [
    "FitError",
    "Survey",
    "SurveyError",
    "Targeting",
    "fit_formula",
    "r_squared",
    "read_survey",
    "split_rows",
    "targeting_errors",
]


class FitError(ValueError):
    """The weights cannot be fitted (too few households, or terms the survey cannot tell apart)."""


@dataclass(frozen=True)
class Targeting:
    """Targeting errors at one coverage (shares of households, 0 to 1).

    Selected: the `selected` lowest-scored households (coverage x households). Truly poor: the
    households with the lowest actual consumption, as many as the coverage selects unless a
    fixed poor share is given. Inclusion error: the share of the selected who are not truly
    poor. Exclusion error: the share of the truly poor who are not selected. When the poor
    share equals the coverage, the two errors are equal by construction.
    """

    coverage: float
    selected: int
    poor: int
    inclusion_error: float
    exclusion_error: float


def split_rows(rows: int, holdout: float = 0.2, seed: int = 0) -> tuple[Column, Column]:
    """(fitting rows, held-out rows): `holdout` of the rows drawn by `seed`, both sorted."""
    if not 0 <= holdout < 1:
        raise ValueError("the held-out share must be at least 0 and below 1")
    order = np.random.default_rng(seed).permutation(rows)
    held = round(holdout * rows)
    return np.sort(order[held:]), np.sort(order[:held])


def fit_formula(
    survey: Survey,
    terms_like: Formula | None = None,
    version: str = "fitted",
    rows: Sequence[int] | Column | None = None,
    description: str | None = None,
) -> Formula:
    """`terms_like`'s terms (default: the shipped formula's) with least-squares weights."""
    template = terms_like if terms_like is not None else load_formula()
    sample = survey.take(rows) if rows is not None else survey
    design = np.column_stack([np.ones(sample.rows), template.term_columns(sample.columns)])
    _check_design(design, template)
    weights, _residuals, _rank, _singular = np.linalg.lstsq(
        design, sample.log_consumption, rcond=None
    )
    fitted = tuple(
        replace(term, weight=_tidy(weight))
        for term, weight in zip(template.terms, weights[1:], strict=True)
    )
    return Formula(
        version=version,
        illustrative=False,
        description=description or _description(sample.rows, template),
        intercept=_tidy(weights[0]),
        terms=fitted,
    )


def _tidy(weight: float) -> float:
    """Ten significant digits: a readable file, and far below the survey's own error."""
    return float(f"{float(weight):.10g}")


def _description(households: int, template: Formula) -> str:
    return (
        f"Fitted by least squares on {households} households of a survey, with the terms of "
        f"formula {template.version}. The score predicts the natural log of monthly "
        "consumption per person (LBP)."
    )


def _check_design(design: Column, template: Formula) -> None:
    """Refuse a fit that has no unique answer, naming the term at fault where one is."""
    households, weights = design.shape
    if households <= weights:
        raise FitError(
            f"{households} households are too few to fit {weights} weights "
            f"(the intercept and {weights - 1} terms): at least {weights + 1} are needed"
        )
    if np.linalg.matrix_rank(design) == weights:
        return
    names = [term.name for term in template.terms]
    constant = [names[j - 1] for j in range(1, weights) if np.ptp(design[:, j]) == 0]
    if constant:
        raise FitError(
            f"term(s) {', '.join(constant)} take the same value in every household of the "
            "survey: drop them from the template or use a survey where they vary"
        )
    for j in range(2, weights + 1):
        if np.linalg.matrix_rank(design[:, :j]) < j:
            raise FitError(
                f"term {names[j - 2]} is a linear combination of the intercept and the terms "
                "before it (e.g. every answer of a question plus the intercept): drop one"
            )


def r_squared(formula: Formula, survey: Survey) -> float:
    """The share of the log-consumption variance the formula predicts (NaN below 2 rows)."""
    actual = survey.log_consumption
    if survey.rows < 2:
        return math.nan
    total = float(np.sum((actual - actual.mean()) ** 2))
    if total == 0:
        return math.nan
    residual = float(np.sum((actual - formula.score_columns(survey.columns)) ** 2))
    return 1 - residual / total


def targeting_errors(
    formula: Formula,
    survey: Survey,
    coverages: Iterable[float],
    poor_share: float | None = None,
) -> list[Targeting]:
    """Inclusion and exclusion errors at each coverage (see `Targeting` for the definitions)."""
    households = survey.rows
    if households == 0:
        raise ValueError("targeting errors need at least one household")
    by_score = np.argsort(formula.score_columns(survey.columns), kind="stable")
    by_consumption = np.argsort(survey.log_consumption, kind="stable")
    results = []
    for coverage in coverages:
        selected = _lowest(by_score, coverage, households)
        poor = _lowest(by_consumption, coverage if poor_share is None else poor_share, households)
        results.append(
            Targeting(
                coverage=coverage,
                selected=int(selected.sum()),
                poor=int(poor.sum()),
                inclusion_error=float((selected & ~poor).sum() / selected.sum()),
                exclusion_error=float((poor & ~selected).sum() / poor.sum()),
            )
        )
    return results


def _lowest(order: NDArray[np.intp], share: float, households: int) -> NDArray[np.bool_]:
    """A mask of the `share` first households of `order` (at least one)."""
    if not 0 < share <= 1:
        raise ValueError(f"a coverage or poor share must be above 0 and at most 1 (got {share})")
    mask = np.zeros(households, dtype=bool)
    mask[order[: max(1, round(share * households))]] = True
    return mask
