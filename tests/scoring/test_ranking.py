"""Ranking and quotas: poorest first, a stated tie rule, and shares that add up to the budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scoring.ranking import Candidate, allocate, rank

candidate_lists = st.lists(
    st.tuples(
        st.sampled_from([11.0, 11.5, 12.0, 12.25]),  # few values: ties are common
        st.integers(0, 5),
        st.integers(1, 12),
        st.sampled_from(["LB1", "LB2", "LB3"]),
    ),
    max_size=60,
).map(
    lambda rows: [
        Candidate(i, score, poverty, size, f"{i:010d}", area)
        for i, (score, poverty, size, area) in enumerate(rows)
    ]
)


def _key(c: Candidate) -> tuple[float, int, int, str]:
    return (c.score, -c.poverty_count, -c.household_size, c.reference)


@given(candidate_lists, st.integers(1, 80))
def test_within_each_area_nobody_left_out_is_poorer_than_anybody_selected(
    candidates: list[Candidate], budget: int
) -> None:
    ranked = {r.key: r for r in rank(candidates, budget)}
    for area in {c.area for c in candidates}:
        here = sorted((c for c in candidates if c.area == area), key=_key)
        assert [ranked[c.key].rank for c in here] == list(range(1, len(here) + 1))
        flags = [ranked[c.key].selected for c in here]
        assert flags == sorted(flags, reverse=True)  # all the selected come first


@given(candidate_lists, st.integers(1, 80))
def test_the_budget_is_spent_exactly_and_never_exceeded(
    candidates: list[Candidate], budget: int
) -> None:
    selected = sum(r.selected for r in rank(candidates, budget))
    assert selected == min(budget, len(candidates))


@given(
    st.dictionaries(st.sampled_from(["LB1", "LB2", "LB3", "LB4"]), st.integers(1, 500)),
    st.integers(1, 1000),
)
def test_quotas_are_proportional_by_largest_remainder(counts: dict[str, int], budget: int) -> None:
    seats = allocate(counts, budget)
    total = sum(counts.values())
    assert sum(seats.values()) == min(budget, total)
    for area, count in counts.items():
        assert seats[area] <= count
        if total > budget:
            assert abs(seats[area] - budget * count / total) < 1


def test_ties_fall_to_more_deprivations_then_larger_family_then_reference() -> None:
    tied = [
        Candidate(1, 12.0, 1, 4, "0000000009", ""),
        Candidate(2, 12.0, 3, 2, "0000000008", ""),  # more deprivations: first
        Candidate(3, 12.0, 1, 6, "0000000007", ""),  # larger family: before 1
        Candidate(4, 12.0, 1, 4, "0000000001", ""),  # same as 1 but smaller reference
    ]
    order = [r.key for r in sorted(rank(tied, 2), key=lambda r: r.rank)]
    assert order == [2, 3, 4, 1]
    assert [r.key for r in rank(tied, 2) if r.selected] == [2, 3]


def test_the_same_candidates_in_any_order_make_the_same_ranks() -> None:
    pool = [Candidate(i, 12.0 + (i % 5) / 10, i % 3, 1 + i % 4, f"{i:010d}", "") for i in range(40)]
    forward = {r.key: (r.rank, r.selected) for r in rank(pool, 15)}
    backward = {r.key: (r.rank, r.selected) for r in rank(list(reversed(pool)), 15)}
    assert forward == backward
