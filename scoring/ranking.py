"""Ranking eligible families and cutting the list at the budget, optionally by area quotas.

Poorest first: the lowest predicted consumption per person. Ties are broken by a stated,
deterministic rule, so the same inputs always make the same list:
1. the lower score (predicted log consumption per person) first;
2. then more deprivations on the poverty index first;
3. then the larger household first;
4. then the smaller application reference (unique, so no tie survives).

With quotas, the budget is shared among areas (governorates or districts) in proportion to
their eligible families, by the largest-remainder method (remainders tied: the area code
decides), and each area's share goes to its poorest families by the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """An eligible family as the ranking sees it."""

    key: int  # the application's id
    score: float
    poverty_count: int
    household_size: int
    reference: str
    area: str  # the quota area ("" without quotas)


@dataclass(frozen=True)
class Ranked:
    key: int
    rank: int  # 1 = poorest, within the family's quota area (nationally without quotas)
    selected: bool


def allocate(eligible_per_area: dict[str, int], budget: int) -> dict[str, int]:
    """Each area's share of the budget, by largest remainder; never more than it has."""
    total = sum(eligible_per_area.values())
    if total <= budget:
        return dict(eligible_per_area)
    shares = {area: budget * count / total for area, count in eligible_per_area.items()}
    seats = {area: int(share) for area, share in shares.items()}
    left = budget - sum(seats.values())
    by_remainder = sorted(shares, key=lambda area: (-(shares[area] - seats[area]), area))
    for area in by_remainder[:left]:
        seats[area] += 1
    return seats


def order(candidates: Sequence[Candidate]) -> np.ndarray:
    """Indices of `candidates` in ranking order (the module's tie rule)."""
    columns = _columns(candidates)
    return _order(*columns[:4])


def _columns(
    candidates: Sequence[Candidate],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(candidates)
    return (
        np.fromiter((c.score for c in candidates), dtype=np.float64, count=n),
        np.fromiter((c.poverty_count for c in candidates), dtype=np.int64, count=n),
        np.fromiter((c.household_size for c in candidates), dtype=np.int64, count=n),
        np.array([c.reference for c in candidates], dtype=str),
        np.array([c.area for c in candidates], dtype=str),
    )


def _order(
    scores: np.ndarray, poverty: np.ndarray, sizes: np.ndarray, references: np.ndarray
) -> np.ndarray:
    # np.lexsort sorts by its last key first.
    return np.lexsort((references, -sizes, -poverty, scores))


def rank_columns(
    scores: np.ndarray,
    poverty: np.ndarray,
    sizes: np.ndarray,
    references: np.ndarray,
    areas: np.ndarray,
    budget: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's rank in its area (1 = poorest) and whether the budget reaches it."""
    ranking = _order(scores, poverty, sizes, references)
    names, area_index = np.unique(areas, return_inverse=True)
    counts = np.bincount(area_index, minlength=len(names))
    seats = allocate({str(a): int(c) for a, c in zip(names, counts, strict=True)}, budget)
    # Stable by area, the ranking order is kept inside each area: positions are the ranks.
    by_area = ranking[np.argsort(area_index[ranking], kind="stable")]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[by_area] = np.arange(len(scores)) - np.repeat(starts, counts) + 1
    limit = np.array([seats[str(a)] for a in names], dtype=np.int64)
    return ranks, ranks <= limit[area_index]


def rank(candidates: Sequence[Candidate], budget: int) -> list[Ranked]:
    """Every candidate's rank in its area and whether the budget reaches it."""
    if not candidates:
        return []
    ranks, selected = rank_columns(*_columns(candidates), budget)
    return [
        Ranked(c.key, int(r), bool(s)) for c, r, s in zip(candidates, ranks, selected, strict=True)
    ]
