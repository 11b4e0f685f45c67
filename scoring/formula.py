"""The proxy means test formula: an intercept plus weighted, transformed household variables.

A formula predicts the natural log of a household's monthly consumption per person (LBP) from
what its form says; the lowest predictions are the poorest households. Formulas live in JSON
files (`scoring/formulas/`), validated on load, identified by their version and their digest,
so a stored score always names exactly the weights that produced it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from scoring.digest import canonical_json, digest
from scoring.transforms import IDENTITY, Column, Transform, compile_transform
from scoring.variables import HouseholdInput, household_variables

SHIPPED_FORMULA = Path(__file__).resolve().parent / "formulas" / "illustrative-2020.json"
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TERM_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FORMULA_KEYS = ("version", "illustrative", "description", "intercept", "terms")
_TERM_KEYS = ("name", "variable", "transform", "weight")


class FormulaError(ValueError):
    """A formula file or formula that cannot be used; the message says where and why."""


def round6(value: float) -> float:
    """Six decimals by the same IEEE steps as `round6_column`, so both give the same bits."""
    return round(value * 1e6) / 1e6


def round6_column(values: Column) -> Column:
    rounded: Column = np.rint(values * 1e6) / 1e6 + 0.0  # + 0.0 turns -0.0 into 0.0
    return rounded


@dataclass(frozen=True)
class Term:
    """One weighted, transformed variable: contributes `weight * transform(variable)`."""

    name: str
    variable: str
    transform: str
    weight: float


@dataclass(frozen=True)
class ScoreResult:
    """A household's score and how each term made it up (what a committee can be shown)."""

    value: float
    intercept: float
    contributions: dict[str, float]
    variables: dict[str, float]


@dataclass(frozen=True)
class Formula:
    """Weights and terms; validated when built, whichever way it is built."""

    version: str
    illustrative: bool
    description: str
    intercept: float
    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        _check_formula(self)

    @cached_property
    def _plan(self) -> _Plan:
        return _Plan.of(self.terms)

    @property
    def variables(self) -> tuple[str, ...]:
        """The raw variables this formula reads, in the order its terms first use them."""
        return tuple(dict.fromkeys(t.variable for t in self.terms))

    def score(self, household: HouseholdInput) -> ScoreResult:
        """The household's predicted log consumption per person per month."""
        return self.score_variables(household_variables(household))

    def score_variables(self, variables: Mapping[str, float]) -> ScoreResult:
        """Score from raw variables; ValueError if one is missing or the result is not finite."""
        try:
            total, contributions = self._plan.score(self.intercept, variables)
        except KeyError as missing:
            raise ValueError(f"variable {missing} is missing") from None
        except (OverflowError, ValueError):  # round() of an infinity or a NaN
            total, contributions = math.nan, {}
        if not abs(total) < 1e300:
            raise ValueError(f"formula {self.version} gives a score that is not a finite number")
        return ScoreResult(round6(total), self.intercept, contributions, dict(variables))

    def score_columns(self, columns: Mapping[str, Column]) -> Column:
        """One score per row, identical to `score_variables` on that row (vectorised)."""
        arrays = {v: np.asarray(columns[v], dtype=np.float64) for v in self._needed(columns)}
        lengths = {a.shape for a in arrays.values()}
        if len(lengths) > 1 or any(len(shape) != 1 for shape in lengths):
            raise ValueError("the columns must be one-dimensional and of the same length")
        rows = next(iter(lengths))[0] if lengths else 0
        total = np.full(rows, self.intercept, dtype=np.float64)
        for term, transform in self._plan.order:  # the order score_variables adds in
            total += term.weight * transform.column(arrays[term.variable])
        bad = np.flatnonzero(~(np.abs(total) < 1e300))
        if bad.size:
            raise ValueError(f"row {bad[0]} gives a score that is not a finite number")
        return round6_column(total)

    def term_columns(self, columns: Mapping[str, Column]) -> Column:
        """The design matrix: one column per term, the transformed variable (unweighted)."""
        arrays = {v: np.asarray(columns[v], dtype=np.float64) for v in self._needed(columns)}
        transforms = [compile_transform(t.variable, t.transform) for t in self.terms]
        pairs = zip(self.terms, transforms, strict=True)
        return np.column_stack([tr.column(arrays[term.variable]) for term, tr in pairs])

    def _needed(self, columns: Mapping[str, Column]) -> tuple[str, ...]:
        missing = [v for v in self.variables if v not in columns]
        if missing:
            raise ValueError(f"column(s) missing: {', '.join(missing)}")
        return self.variables

    def to_document(self) -> dict[str, Any]:
        """The formula as a JSON-ready object (what the file holds)."""
        return {
            "version": self.version,
            "illustrative": self.illustrative,
            "description": self.description,
            "intercept": self.intercept,
            "terms": [
                {
                    "name": t.name,
                    "variable": t.variable,
                    "transform": t.transform,
                    "weight": t.weight,
                }
                for t in self.terms
            ],
        }

    def to_json(self) -> str:
        """Canonical JSON; `parse_formula(f.to_json()) == f`."""
        return canonical_json(self.to_document())

    def to_pretty_json(self) -> str:
        """The same content laid out for people: one term per line (what `scoring fit` writes)."""
        document = self.to_document()
        terms = ",\n".join(
            "    " + json.dumps(t, ensure_ascii=False, allow_nan=False)
            for t in document.pop("terms")
        )
        head = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
        return head[:-2] + ',\n  "terms": [\n' + terms + "\n  ]\n}\n"

    @property
    def digest(self) -> str:
        """The digest of the formula's content, whatever the file's layout."""
        return digest(self.to_document())


Pair = tuple[Term, Transform]
Hit = tuple[str, float, float]  # an indicator that fires: (term name, weight, rounded weight)


@dataclass(frozen=True)
class _Plan:
    """A formula arranged to score one household fast (it runs a million times a round).

    Identity terms are one multiplication, other transforms one call, and the indicator terms
    of a variable one dictionary lookup of its value, with their rounded weight ready. The
    score adds the parts in the plan's order (identity terms, then other transforms, then the
    indicators variable by variable) and `Formula.score_columns` adds its columns in the very
    same order, so both give the same bits; terms that are zero for a household add nothing
    in either.
    """

    order: tuple[Pair, ...]  # the summation order, shared with the columns
    linear: tuple[tuple[str, str, float], ...]  # (name, variable, weight)
    curved: tuple[tuple[str, str, Callable[[float], float], float], ...]
    indicators: tuple[tuple[str, dict[float, list[Hit]]], ...]
    zeros: dict[str, float]  # every term at 0.0, in formula order

    @classmethod
    def of(cls, terms: tuple[Term, ...]) -> _Plan:
        linear: list[Pair] = []
        curved: list[Pair] = []
        grouped: dict[str, list[Pair]] = {}
        lookups: dict[str, dict[float, list[Hit]]] = {}
        for term in terms:
            transform = compile_transform(term.variable, term.transform)
            if transform is IDENTITY:
                linear.append((term, transform))
            elif transform.target is None:
                curved.append((term, transform))
            else:
                grouped.setdefault(term.variable, []).append((term, transform))
                hits = lookups.setdefault(term.variable, {}).setdefault(transform.target, [])
                hits.append((term.name, term.weight, round6(term.weight)))
        return cls(
            order=(*linear, *curved, *(pair for group in grouped.values() for pair in group)),
            linear=tuple((t.name, t.variable, t.weight) for t, _tr in linear),
            curved=tuple((t.name, t.variable, tr.scalar, t.weight) for t, tr in curved),
            indicators=tuple(lookups.items()),
            zeros=dict.fromkeys((t.name for t in terms), 0.0),
        )

    def score(
        self, intercept: float, variables: Mapping[str, float]
    ) -> tuple[float, dict[str, float]]:
        """(unrounded total, rounded contributions) for one household."""
        total, contributions = intercept, self.zeros.copy()
        parts = [(n, p) for n, v, w in self.linear if (p := w * variables[v])]
        parts += [(n, p) for n, v, f, w in self.curved if (p := w * f(variables[v]))]
        for name, part in parts:
            total += part
            contributions[name] = round(part * 1e6) / 1e6  # round6, inlined: the hot path
        for variable, by_value in self.indicators:
            for name, weight, rounded in by_value.get(variables[variable], ()):
                total += weight
                contributions[name] = rounded
        return total, contributions


def _check_formula(formula: Formula) -> None:
    if not isinstance(formula.version, str) or not _VERSION.fullmatch(formula.version):
        raise FormulaError(
            "version must be 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit (got {formula.version!r})"
        )
    if not formula.terms:
        raise FormulaError("a formula needs at least one term")
    seen: set[str] = set()
    for index, term in enumerate(formula.terms, 1):
        if not all(isinstance(text, str) for text in (term.name, term.variable, term.transform)):
            raise FormulaError(f"term {index}: name, variable and transform must be text")
        where = f"term {index} ({term.name})"
        if not _TERM_NAME.fullmatch(term.name):
            raise FormulaError(f"term {index}: name must be lower-case letters, digits and _")
        if term.name in seen:
            raise FormulaError(f"{where}: the name is used twice")
        seen.add(term.name)
        try:
            compile_transform(term.variable, term.transform)
        except ValueError as exc:
            raise FormulaError(f"{where}: {exc}") from None
        _check_number(term.weight, f"{where}: weight")
    _check_number(formula.intercept, "intercept")


def _check_number(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        raise FormulaError(f"{what} must be a finite float (got {value!r})")


def parse_formula(text: str) -> Formula:
    """A formula from its JSON text; FormulaError names the first problem."""
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise FormulaError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    document = _object(document, _FORMULA_KEYS, "the formula")
    if not isinstance(document["illustrative"], bool):
        raise FormulaError("illustrative must be true or false")
    if not isinstance(document["description"], str):
        raise FormulaError("description must be text")
    if not isinstance(document["terms"], list):
        raise FormulaError("terms must be a list")
    terms = tuple(_parse_term(term, n) for n, term in enumerate(document["terms"], 1))
    return Formula(
        version=_text(document["version"], "version"),
        illustrative=document["illustrative"],
        description=document["description"],
        intercept=_float(document["intercept"], "intercept"),
        terms=terms,
    )


def _no_constant(name: str) -> float:
    raise FormulaError(f"{name} is not a number a formula can hold")


def _object(value: object, keys: tuple[str, ...], what: str) -> dict[str, Any]:
    """`value` as a JSON object with exactly `keys`."""
    if not isinstance(value, dict):
        raise FormulaError(f"{what} must be a JSON object")
    missing = [k for k in keys if k not in value]
    unknown = sorted(set(value) - set(keys))
    if missing:
        raise FormulaError(f"{what} lacks {', '.join(missing)}")
    if unknown:
        raise FormulaError(f"{what} has unknown key(s) {', '.join(unknown)}")
    return value


def _parse_term(item: object, index: int) -> Term:
    where = f"term {index}"
    value = _object(item, _TERM_KEYS, where)
    return Term(
        name=_text(value["name"], f"{where}: name"),
        variable=_text(value["variable"], f"{where}: variable"),
        transform=_text(value["transform"], f"{where}: transform"),
        weight=_float(value["weight"], f"{where}: weight"),
    )


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise FormulaError(f"{what} must be text")
    return value


def _float(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormulaError(f"{what} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise FormulaError(f"{what} is too large") from None
    _check_number(number, what)
    return number


def load_formula(path: str | Path | None = None) -> Formula:
    """The formula in the file at `path` (None: the shipped, illustrative one)."""
    source = Path(path) if path is not None else SHIPPED_FORMULA
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FormulaError(f"{source}: cannot be read ({reason})") from None
    try:
        return parse_formula(text)
    except FormulaError as exc:
        raise FormulaError(f"{source}: {exc}") from None
