"""The PMT engine at the scale of a national round: a million households, on this machine.

Run with `.venv/bin/python -m bench.scoring` (also part of `bin/bench`). No store is needed.
Prints a Markdown table of:

1. scoring a million synthetic households with the vectorised engine, from raw variable columns
   (what a re-score of the whole round with a new formula costs once the variables are known);
2. the end-to-end path from cleaned form pages, `household_variables` + `Formula.score` per
   household: microseconds on one core, and a million measured through a process pool over
   every core (each worker scores households it holds, as a scoring worker reads them from the
   store; the store itself is not part of this figure). Also the same million with the
   variables per household and the scores in vectorised batches;
3. re-scoring one application (`score()` of one household): the median over many calls.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import date
from multiprocessing import get_context
from typing import Any

import numpy as np

from core.household import OPTIONS
from scoring.formula import load_formula
from scoring.survey import synthetic_columns
from scoring.variables import GOVERNORATES, VARIABLES, HouseholdInput, household_variables

MILLION = 1_000_000
AS_OF = date(2020, 4, 20)
DISTINCT = 20_000  # distinct households the workers cycle through
BATCH = 10_000
FORMULA = load_formula()
SAMPLE: list[HouseholdInput] = []  # filled before the pool forks: the workers inherit it


def _born(rng: random.Random, low: int, high: int) -> str:
    return date(
        AS_OF.year - rng.randint(low, high), rng.randint(1, 12), rng.randint(1, 28)
    ).isoformat()


def _member(rng: random.Random) -> dict[str, Any]:
    age_band = rng.choices([(0, 14), (15, 64), (65, 90)], [0.4, 0.52, 0.08])[0]
    born = _born(rng, *age_band)
    adult = age_band[0] >= 15
    return {
        "first_name": "x",
        "relation": rng.choice(OPTIONS["relation"]),
        "sex": rng.choice(OPTIONS["sex"]),
        "birth_date": born,
        "id_number": "123456789" if adult else None,
        "disability": rng.random() < 0.03,
        "chronic_illness": rng.random() < 0.08,
        "work": rng.choice(OPTIONS["work"][1:5]) if adult else None,
        "in_school": not adult and rng.random() < 0.9,
    }


def synthetic_pages(rng: random.Random) -> dict[str, Any]:
    """One plausible cleaned application (what the form stores), for timing only."""
    members = [_member(rng) for _ in range(min(int(rng.expovariate(1 / 3.3)), 20))]
    return {
        "personal": {
            "head_sex": rng.choice(OPTIONS["sex"]),
            "head_birth_date": _born(rng, 20, 85),
            "head_education": rng.choice(OPTIONS["education"]),
            "head_work": rng.choice(OPTIONS["work"]),
        },
        "family": {"members": members},
        "housing": {
            "housing_tenure": rng.choice(OPTIONS["housing_tenure"]),
            "housing_type": rng.choice(OPTIONS["housing_type"]),
            "rooms": rng.randint(1, 6),
            "assets": rng.sample(OPTIONS["assets"], rng.randint(0, 8)),
            "cars": rng.choice([None, 0, 0, 1, 2]),
        },
        "finances": {
            "monthly_income": int(rng.lognormvariate(13.7, 0.8)) * (rng.random() > 0.08),
            "lost_income_covid": rng.random() < 0.45,
            "debts": None,
        },
    }


def households(seed: int, count: int = DISTINCT) -> list[HouseholdInput]:
    rng = random.Random(seed)
    return [
        HouseholdInput(synthetic_pages(rng), AS_OF, rng.choice((*GOVERNORATES, None)))
        for _ in range(count)
    ]


def _score_each(task: tuple[int, int]) -> float:
    """A worker's share: variables and score() per household; returns a checksum."""
    offset, count = task
    total = 0.0
    for n in range(offset, offset + count):
        total += FORMULA.score(SAMPLE[n % DISTINCT]).value
    return total


def _score_batched(task: tuple[int, int]) -> float:
    """A worker's share: variables per household, scores by vectorised batches."""
    offset, count = task
    total = 0.0
    for start in range(offset, offset + count, BATCH):
        rows = [household_variables(SAMPLE[n % DISTINCT]) for n in range(start, start + BATCH)]
        columns = {name: np.array([row[name] for row in rows]) for name in VARIABLES}
        total += float(FORMULA.score_columns(columns).sum())
    return total


def pooled_seconds(work: Any, cores: int) -> float:
    """A million households split over `cores` worker processes, wall-clock (pool start included)."""
    share = MILLION // cores
    tasks = [(worker * share, share) for worker in range(cores)]
    start = time.perf_counter()
    with get_context("fork").Pool(cores) as pool:
        pool.map(work, tasks)
    return time.perf_counter() - start


def per_household_us(sample: list[HouseholdInput]) -> tuple[float, float]:
    """(household_variables, score from variables) µs per household on one core."""
    start = time.perf_counter()
    variables = [household_variables(h) for h in sample]
    middle = time.perf_counter()
    for values in variables:
        FORMULA.score_variables(values)
    end = time.perf_counter()
    return (middle - start) / len(sample) * 1e6, (end - middle) / len(sample) * 1e6


def rescoring_one_us(sample: list[HouseholdInput]) -> float:
    times = []
    for household in sample:
        start = time.perf_counter()
        FORMULA.score(household)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> int:
    cores = os.cpu_count() or 1
    columns = synthetic_columns(MILLION, np.random.default_rng(1))
    vectorised = min(_timed(lambda: FORMULA.score_columns(columns)) for _ in range(3))
    sample = households(99, DISTINCT)
    SAMPLE.extend(sample)
    variables_us, score_us = per_household_us(sample)
    print(f"one core: {variables_us:.1f} µs variables + {score_us:.1f} µs score", file=sys.stderr)
    each = pooled_seconds(_score_each, cores)
    batched = pooled_seconds(_score_batched, cores)
    rescore = rescoring_one_us(sample[:5_000])
    mean_size = statistics.mean(len(h.pages["family"]["members"]) + 1 for h in sample)
    print(f"PMT engine, formula {FORMULA.version} ({len(FORMULA.terms)} terms), {cores} cores\n")
    print("| what | per household | one million |")
    print("| --- | ---: | ---: |")
    print(
        f"| 1. vectorised, from raw variable columns | {vectorised / MILLION * 1e9:.0f} ns | {vectorised:.2f} s |"
    )
    print(
        f"| 2. form pages → variables + score(), one core (mean size {mean_size:.1f}) | {variables_us + score_us:.1f} µs ({variables_us:.1f} + {score_us:.1f}) | {(variables_us + score_us):.1f} s on one core, {(variables_us + score_us) / cores:.1f} s projected on {cores} |"
    )
    print(
        f"| 2. the same, pool of {cores} processes (measured) | {each / MILLION * 1e6:.1f} µs | {each:.1f} s |"
    )
    print(
        f"| 2. variables per household, scores in batches of {BATCH:,}, pool of {cores} | {batched / MILLION * 1e6:.1f} µs | {batched:.1f} s |"
    )
    print(f"| 3. re-scoring one application, score(), median | {rescore:.1f} µs | |")
    return 0


def _timed(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
