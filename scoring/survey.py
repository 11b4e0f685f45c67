"""Household surveys for fitting a formula: read from CSV, written to CSV, or synthesised.

The CSV has one row per household and a header row. It holds:

- `log_consumption`: the natural log of the household's monthly consumption per person, in
  LBP; or instead `consumption_per_person`: that consumption itself (LBP, above 0), whose log
  is taken. Exactly one of the two.
- one column per raw variable the formula uses, named as in `scoring.variables.VARIABLES`:
  numbers (0 or more) for counts, ratios and amounts, and the form's own answer for the
  categorical ones (e.g. `housing_tenure` = `rented`, `governorate` = `LB5`).

Other columns (a household id, a sampling weight) are ignored. A UTF-8 byte-order mark (Excel)
is accepted. Any bad or missing value stops the reading with the line and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring.formula import Formula
from scoring.transforms import Column
from scoring.variables import ASSETS, CATEGORIES, GOVERNORATES, VARIABLES

LOG_CONSUMPTION = "log_consumption"
CONSUMPTION = "consumption_per_person"


class SurveyError(ValueError):
    """A survey file that cannot be used; the message names the line and the column."""


@dataclass(frozen=True)
class Survey:
    """Raw variables (categorical ones as codes) and the log consumption, one entry per row."""

    columns: dict[str, Column]
    log_consumption: Column

    @property
    def rows(self) -> int:
        return int(self.log_consumption.shape[0])

    def take(self, rows: Column | Iterable[int]) -> Survey:
        """The households at these row positions, in that order."""
        index = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.intp)
        return Survey({k: v[index] for k, v in self.columns.items()}, self.log_consumption[index])


def read_survey(path: str | Path, variables: Iterable[str] = VARIABLES) -> Survey:
    """The survey in the CSV at `path`, with the columns `variables` (default: all)."""
    wanted = tuple(dict.fromkeys(variables))
    unknown = [name for name in wanted if name not in VARIABLES]
    if unknown:
        raise SurveyError(f"unknown variable(s): {', '.join(unknown)}")
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            return _read(csv.DictReader(handle), wanted)
    except OSError as exc:
        raise SurveyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SurveyError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    except SurveyError as exc:
        raise SurveyError(f"{path}: {exc}") from None


def _read(reader: csv.DictReader[str], wanted: tuple[str, ...]) -> Survey:
    header = [name.strip() for name in reader.fieldnames or ()]
    reader.fieldnames = header
    outcome = _outcome_column(header)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise SurveyError(f"column(s) missing: {', '.join(missing)}")
    values: dict[str, list[float]] = {name: [] for name in (*wanted, outcome)}
    for row in reader:
        for name in values:
            values[name].append(_cell(row.get(name), name, reader.line_num))
    if not values[outcome]:
        raise SurveyError("the survey has no households (only a header, or nothing)")
    outcome_values = np.array(values.pop(outcome))
    if outcome == CONSUMPTION:
        outcome_values = np.log(outcome_values)
    return Survey({k: np.array(v, dtype=np.float64) for k, v in values.items()}, outcome_values)


def _outcome_column(header: list[str]) -> str:
    present = [name for name in (LOG_CONSUMPTION, CONSUMPTION) if name in header]
    if len(present) != 1:
        raise SurveyError(
            f"the survey needs exactly one of the columns {LOG_CONSUMPTION} and {CONSUMPTION}"
            + (f" (found {len(present)})" if present else "")
        )
    return present[0]


def _cell(raw: str | None, column: str, line: int) -> float:
    """One value: an answer's code for categorical columns, a number for the others."""
    text = (raw or "").strip()
    where = f"line {line}, column {column}"
    if not text:
        raise SurveyError(f"{where}: the value is missing")
    answers = CATEGORIES.get(column)
    if answers is not None:
        if text not in answers:
            raise SurveyError(f"{where}: {text!r} is not one of {', '.join(answers)}")
        return float(answers.index(text))
    try:
        number = float(text)
    except ValueError:
        raise SurveyError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise SurveyError(f"{where}: {text!r} is not a finite number")
    if column == CONSUMPTION and number <= 0:
        raise SurveyError(f"{where}: consumption must be above 0 (got {text})")
    if column != LOG_CONSUMPTION and column != CONSUMPTION and number < 0:
        raise SurveyError(f"{where}: the value cannot be negative (got {text})")
    return number


def write_survey(survey: Survey, path: str | Path) -> None:
    """The survey as a CSV that `read_survey` reads back exactly (answers by name)."""
    names = [name for name in VARIABLES if name in survey.columns]
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([LOG_CONSUMPTION, *names])
        for row in range(survey.rows):
            cells = [_text(name, float(survey.columns[name][row])) for name in names]
            writer.writerow([repr(float(survey.log_consumption[row])), *cells])


def _text(name: str, value: float) -> str:
    answers = CATEGORIES.get(name)
    return answers[int(value)] if answers is not None else repr(value)


# --- synthetic surveys ---------------------------------------------------------------------

# Shares of households by answer, in the form's order (plausible, not measured).
_WORK_SHARES = (0.04, 0.22, 0.18, 0.24, 0.17, 0.03, 0.06, 0.06)
_TENURE_SHARES = (0.55, 0.30, 0.10, 0.05)
_TYPE_SHARES = (0.55, 0.24, 0.09, 0.04, 0.08)
_REGION_SHARES = (0.08, 0.12, 0.38, 0.08, 0.15, 0.11, 0.05, 0.03)
# How common each asset is at average wealth (log-odds), in ASSETS' order.
_ASSET_LOGITS = (-1.0, 3.0, 1.2, 0.0, 0.8, 0.4, -0.6, 1.0)
_WORKING_CODES = (0.0, 1.0, 2.0, 3.0)  # public_sector .. daily_worker: see variables.WORKING


def synthetic_survey(n: int, formula: Formula, noise: float = 0.3, seed: int = 0) -> Survey:
    """`n` plausible households whose log consumption is `formula`'s score plus N(0, noise²).

    Everything is drawn from one latent wealth, so assets, education and income go together as
    in a real survey; the same seed always gives the same survey.
    """
    rng = np.random.default_rng(seed)
    columns = synthetic_columns(n, rng)
    return Survey(columns, formula.score_columns(columns) + noise * rng.standard_normal(n))


def synthetic_columns(n: int, rng: np.random.Generator) -> dict[str, Column]:
    """Raw variable columns for `n` households (categorical ones as codes)."""
    wealth = rng.standard_normal(n)
    columns = _synthetic_people(n, rng, wealth)
    columns |= _synthetic_housing(n, rng, wealth, columns["household_size"])
    income = np.exp(12.2 + 0.7 * wealth + 0.5 * rng.standard_normal(n))
    columns["income_per_capita"] = np.where(rng.random(n) < 0.08, 0.0, np.round(income))
    columns["lost_income_covid"] = (rng.random(n) < 0.45).astype(np.float64)
    columns["governorate"] = rng.choice(len(GOVERNORATES), n, p=_REGION_SHARES).astype(np.float64)
    return {name: columns[name].astype(np.float64) for name in VARIABLES}


def _synthetic_people(n: int, rng: np.random.Generator, wealth: Column) -> dict[str, Column]:
    size = np.clip(1 + rng.poisson(np.clip(3.2 - 0.4 * wealth, 0.3, None)), 1, 21)
    children = rng.binomial(size - 1, 0.35)
    elderly = rng.binomial(size - children, 0.08)
    working_age = size - children - elderly
    head_work = rng.choice(len(_WORK_SHARES), n, p=_WORK_SHARES)
    others_working = rng.binomial(np.maximum(working_age - 1, 0), 0.25)
    education = np.digitize(wealth + 0.8 * rng.standard_normal(n), (-1.2, -0.4, 0.3, 1.1))
    return {
        "household_size": size,
        "children": children,
        "elderly": elderly,
        "dependency_ratio": (children + elderly) / np.maximum(working_age, 1),
        "disabled": rng.binomial(size - 1, 0.03),
        "chronically_ill": rng.binomial(size - 1, 0.08),
        "out_of_school": rng.binomial(children, np.clip(0.12 - 0.05 * wealth, 0.01, 0.5)),
        "female_head": (rng.random(n) < 0.15).astype(np.float64),
        "head_education": education,
        "head_work": head_work,
        "members_working": np.isin(head_work, _WORKING_CODES) + others_working,
    }


def _synthetic_housing(
    n: int, rng: np.random.Generator, wealth: Column, size: Column
) -> dict[str, Column]:
    rooms = np.clip(np.round(size / 2 + wealth + 0.7 * rng.standard_normal(n)), 1, 20)
    odds = np.add.outer(1.2 * wealth, np.array(_ASSET_LOGITS))
    owned = rng.random((n, len(ASSETS))) < 1 / (1 + np.exp(-odds))
    cars = np.minimum(rng.poisson(np.exp(-0.9 + 0.8 * wealth)), 10)
    owned[:, ASSETS.index("car")] = cars > 0
    columns = {f"asset_{name}": owned[:, i] for i, name in enumerate(ASSETS)}
    return columns | {
        "housing_tenure": rng.choice(len(_TENURE_SHARES), n, p=_TENURE_SHARES),
        "housing_type": rng.choice(len(_TYPE_SHARES), n, p=_TYPE_SHARES),
        "crowding": size / rooms,
        "assets_count": owned.sum(axis=1),
        "cars": cars,
    }
