"""Beneficiary lists: ranking a million families with quotas, and building lists from the store.

Run with `.venv/bin/python -m bench.lists` (also part of `bin/bench`). Times, as the median
of a few runs on this machine:
- ranking one million eligible families by the stated tie rule and cutting at a budget with
  governorate and district quotas (`scoring.ranking.rank`, pure Python + NumPy);
- on SQLite and PostgreSQL with `APPLICATIONS` stored applications: the worker's scoring job
  for each (read the application, score it, store the score, commit), then building
  the list end to end (`lists build`'s work: read, digest, exclusions, ranking, store) and
  verifying it (`lists verify`: every score recomputed from the stored form), per application.
Prints a Markdown table.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.run import fresh_store, median_seconds
from core.db import make_sessionmaker, utcnow
from core.link_lifecycle import issue_link
from core.links import Channel
from core.programme import Programme, set_window
from core.queue import JobContext, use_job_context
from core.submissions import submit
from scoring import jobs
from scoring.formula import load_formula
from scoring.list_verify import verify_list
from scoring.lists import Quota, build_list
from scoring.ranking import rank_columns
from tests.conftest import settings_for
from tests.support.factories import load_sample_geography
from tests.support.households import varied

MILLION = 1_000_000
APPLICATIONS = 5_000
GOVERNORATES = [f"LB{g}" for g in range(1, 9)]
DISTRICTS = [f"LB{g}{d}" for g in range(1, 9) for d in range(1, 4)]


def columns(n: int, areas: list[str], seed: int = 1766) -> tuple[np.ndarray, ...]:
    """A million eligible families as the ranking reads them (scores, index, size, ref, area)."""
    rng = np.random.default_rng(seed)
    return (
        np.round(rng.normal(12.5, 0.6, n), 6),
        rng.integers(0, 6, n),
        rng.integers(1, 12, n),
        np.char.zfill(np.arange(n).astype(str), 10),
        np.array(areas)[rng.integers(0, len(areas), n)],
    )


def bench_rank_million() -> list[tuple[str, float]]:
    rows = []
    for label, areas in (
        ("national", [""]),
        ("governorate", GOVERNORATES),
        ("district", DISTRICTS),
    ):
        data = columns(MILLION, areas)
        seconds = median_seconds(lambda d=data: rank_columns(*d, 300_000))
        rows.append((f"rank 1,000,000 families, quota {label}", seconds))
    return rows


def seed_applications(session: Session) -> None:
    load_sample_geography(session)
    set_window(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), "bench")
    for n in range(1, APPLICATIONS + 1):
        data = varied(n)
        data["personal"]["phone"] = f"+9613{n:06d}"
        link, _token = issue_link(session, None, None, "ar", Channel.HOTLINE)
        submit(session, link, data, "ar")
        if n % 1000 == 0:
            session.commit()
    programme = session.scalars(select(Programme)).one()
    programme.closes_at = utcnow() - timedelta(seconds=1)
    session.commit()


def bench_store(kind: str) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_store(kind, Path(folder))
        factory = make_sessionmaker(engine)
        formula = load_formula()
        with factory() as session:
            seed_applications(session)
            programme = session.scalars(select(Programme)).one()
            ids = list(range(1, APPLICATIONS + 1))
        url = engine.url.render_as_string(hide_password=False)
        use_job_context(JobContext(settings_for(url), factory))
        job_times = []
        for application_id in ids:  # the worker's job, once per application, each committed
            start = time.perf_counter()
            jobs.score_application(application_id)
            job_times.append(time.perf_counter() - start)
        built: list[int] = []

        def build() -> None:
            with factory() as session:
                made = build_list(session, programme, APPLICATIONS // 3, Quota.DISTRICT, formula)
                session.commit()
                built.append(made.id)

        def verify() -> None:
            with factory() as session:
                assert verify_list(session, built[-1]) == []

        per_build = median_seconds(build) / APPLICATIONS
        per_verify = median_seconds(verify) / APPLICATIONS
        engine.dispose()
    job_times.sort()
    return [
        (
            f"{kind}: score one application in the worker, median (ms)",
            statistics.median(job_times) * 1e3,
        ),
        (
            f"{kind}: score one application in the worker, p99 (ms)",
            job_times[int(len(job_times) * 0.99)] * 1e3,
        ),
        (f"{kind}: build a district-quota list, per application (µs)", per_build * 1e6),
        (f"{kind}: verify it (every score recomputed), per application (µs)", per_verify * 1e6),
    ]


def main() -> int:
    rows = bench_rank_million()
    for kind in ("sqlite", "postgresql"):
        rows += bench_store(kind)
    print("| lists | figure |")
    print("| --- | --- |")
    for label, value in rows:
        unit = "" if "µs" in label or "(ms)" in label else " s"
        print(f"| {label} | {value:,.2f}{unit} |")
    print(
        f"\n(store figures from {APPLICATIONS:,} applications; multiply by 1,000,000 for a national list)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
