"""Beneficiary lists: ranking a million families with quotas, and a national list from the store.

Run with `.venv/bin/python -m bench.lists` (also part of `bin/bench`); `--applications N`
stores N applications instead of a million, `--keep` reuses the stores a previous run of the
same size left (`var/bench-lists.sqlite3` and the PostgreSQL database `intake_bench_lists`).
It measures, on this machine:
- ranking one million eligible families by the stated tie rule and cutting at a budget with
  governorate and district quotas (`scoring.ranking.rank_columns`, NumPy), median of 3;
- on SQLite and PostgreSQL holding N scored applications of one round (written in bulk by
  `bench.list_store`, as submissions and the worker would have left them): the worker's
  scoring job on 2,000 of them (read, score, store, commit), then `lists build`'s work end to
  end (read, digest, exclusions, ranking, store; district quotas) and `lists verify` (every
  score recomputed from the stored form), once each, wall-clock, with both in worker
  processes as the service runs them (`scoring.line_inputs`);
- the ceiling beside them: reading the round's forms and parsing them, nothing else.
Target (issue 19): build and verify each under 60 s for a million applications.
Prints a Markdown table.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import make_url

from bench.list_store import open_round, seed
from bench.run import PG_URL, ROOT, median_seconds
from core.applications import Application
from core.db import make_engine, make_sessionmaker, utcnow
from core.programme import Programme
from core.queue import JobContext, use_job_context
from schema import migrate
from scoring import jobs
from scoring.digest import parse
from scoring.formula import Formula, load_formula
from scoring.list_verify import verify_list
from scoring.lists import Quota, build_list
from scoring.ranking import rank_columns
from scoring.scores import Score
from tests.conftest import settings_for
from tests.support.factories import load_sample_geography
from tests.support.stack import recreate_database

MILLION = 1_000_000
JOBS = 2_000  # applications the worker's job is timed on
VAR = ROOT / "var"
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


def store_for(kind: str, count: int, keep: bool) -> tuple[Engine, bool]:
    """The benchmark's store of `kind`, and whether it already holds `count` applications."""
    if kind == "sqlite":
        VAR.mkdir(exist_ok=True)
        path = VAR / "bench-lists.sqlite3"
        if not keep and path.exists():
            path.unlink()
        engine = make_engine(f"sqlite:///{path}")
    else:
        url = make_url(PG_URL).set(database="intake_bench_lists").render_as_string(False)
        engine = make_engine(url if keep else recreate_database(url, "intake_bench_lists"))
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session:
        held = session.scalar(select(func.count()).select_from(Application)) or 0
    return engine, held == count


def seeded(engine: Engine, count: int, formula: Formula) -> None:
    with make_sessionmaker(engine)() as session:
        load_sample_geography(session)
        programme = open_round(session)
        session.commit()
        seed(engine, session, programme, count, formula)
        programme.closes_at = utcnow() - timedelta(seconds=1)
        session.commit()


def bench_jobs(engine: Engine, formula: Formula) -> list[float]:
    """The worker's job on JOBS applications whose scores are dropped first."""
    factory = make_sessionmaker(engine)
    with factory() as session:
        session.execute(delete(Score).where(Score.application_id <= JOBS))
        session.commit()
    url = engine.url.render_as_string(hide_password=False)
    use_job_context(JobContext(settings_for(url), factory))
    times = []
    for application_id in range(1, JOBS + 1):
        start = time.perf_counter()
        jobs.score_application(application_id)
        times.append(time.perf_counter() - start)
    return sorted(times)


def bench_store(kind: str, count: int, keep: bool) -> list[tuple[str, float]]:
    formula = load_formula()
    engine, ready = store_for(kind, count, keep)
    if not ready:
        seeded(engine, count, formula)
    job_times = bench_jobs(engine, formula)
    factory = make_sessionmaker(engine)
    with factory() as session:
        programme = session.scalars(select(Programme)).one()
        start = time.perf_counter()
        built = build_list(session, programme, count // 3, Quota.DISTRICT, formula)
        session.commit()
        build_s = time.perf_counter() - start
    with factory() as session:
        start = time.perf_counter()
        assert verify_list(session, built.id) == []
        verify_s = time.perf_counter() - start
    ceiling_s = read_and_parse(engine)
    engine.dispose()
    n = f"{count:,}"
    return [
        (f"{kind}: the worker's job, median (ms)", statistics.median(job_times) * 1e3),
        (f"{kind}: the worker's job, p99 (ms)", job_times[int(len(job_times) * 0.99)] * 1e3),
        (f"{kind}: lists build, {n} applications, district quotas (s)", build_s),
        (f"{kind}: lists verify, every score recomputed (s)", verify_s),
        (f"{kind}: ceiling: read and parse the {n} forms, one process (s)", ceiling_s),
    ]


def read_and_parse(engine: Engine) -> float:
    """The floor under build and verify: the forms read from the store and parsed."""
    start = time.perf_counter()
    with engine.connect() as conn:
        for (data,) in conn.execute(select(Application.data).execution_options(yield_per=5000)):
            parse(data)
    return time.perf_counter() - start


def _count(argv: list[str]) -> int:
    if "--applications" in argv:
        return int(argv[argv.index("--applications") + 1].replace(",", "").replace("_", ""))
    return MILLION


def main(argv: list[str]) -> int:
    count, keep = _count(argv), "--keep" in argv
    rows = bench_rank_million()
    for kind in ("sqlite", "postgresql"):
        rows += bench_store(kind, count, keep)
    print("| lists | figure |")
    print("| --- | --- |")
    for label, value in rows:
        unit = "" if label.endswith(")") else " s"
        print(f"| {label} | {value:,.2f}{unit} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
