"""The closed set of transforms a formula term may apply to its raw variable.

Each transform has a scalar form (one household) and a column form (many households) that do
the same floating-point operations in the same order, so scoring one household and scoring a
million give identical numbers. Every transform is total on finite inputs: `log` reads values
below 1 as 1 and `log1p` reads negative values as 0, so no household can produce a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scoring.variables import CATEGORIES, VARIABLES

Column = NDArray[np.float64]
NAMES = ("identity", "log", "log1p", "square", "equals:<value>")


@dataclass(frozen=True)
class Transform:
    """A compiled transform: `scalar` for one value, `column` for an array of them.

    `target` is set for `equals:` indicators, so one household's score can look its answer up
    instead of testing every indicator term in turn.
    """

    scalar: Callable[[float], float]
    column: Callable[[Column], Column]
    target: float | None = None


def _log(x: float) -> float:
    # NumPy's log, not math.log, and NaN kept as np.maximum keeps it: the very same bits.
    return float(np.log(1.0 if x < 1.0 else x))


def _log1p(x: float) -> float:
    return float(np.log1p(0.0 if x < 0.0 else x))


IDENTITY = Transform(lambda x: x, lambda c: c)
_FIXED: dict[str, Transform] = {
    "identity": IDENTITY,
    "log": Transform(_log, lambda c: np.log(np.maximum(c, 1.0))),
    "log1p": Transform(_log1p, lambda c: np.log1p(np.maximum(c, 0.0))),
    "square": Transform(lambda x: x * x, lambda c: c * c),
}


def compile_transform(variable: str, transform: str) -> Transform:
    """The transform named `transform` on `variable`; ValueError saying why it is not allowed."""
    if variable not in VARIABLES:
        raise ValueError(f"unknown variable {variable!r}")
    if transform.startswith("equals:"):
        return _equals(variable, transform.removeprefix("equals:"))
    if variable in CATEGORIES:
        raise ValueError(
            f"{variable!r} is categorical: use equals:<answer>, one of {_answers(variable)}"
        )
    if transform not in _FIXED:
        raise ValueError(f"unknown transform {transform!r}: use one of {', '.join(NAMES)}")
    return _FIXED[transform]


def _equals(variable: str, value: str) -> Transform:
    """An indicator: 1 when the variable equals the value (an answer, for categorical ones)."""
    answers = CATEGORIES.get(variable)
    if answers is not None:
        if value not in answers:
            raise ValueError(
                f"{variable!r} has no answer {value!r}: use one of {_answers(variable)}"
            )
        target = float(answers.index(value))
    else:
        try:
            target = float(value)
        except ValueError:
            raise ValueError(f"equals:{value} on {variable!r} needs a number") from None
        if not math.isfinite(target):
            raise ValueError(f"equals:{value} on {variable!r} needs a finite number")
    return Transform(
        lambda x: 1.0 if x == target else 0.0,
        lambda c: (c == target).astype(np.float64),
        target,
    )


def _answers(variable: str) -> str:
    return ", ".join(CATEGORIES[variable])
