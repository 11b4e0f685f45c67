"""The national dashboard's queries at a million applications, on PostgreSQL.

Run with `.venv/bin/python -m bench.dashboard` (also part of `bin/bench`); `--explain` also
prints each statement's plan (EXPLAIN ANALYZE), `--keep` reuses the database a previous run
loaded. Loads a national round (`bench.dashboard_load`: a million applications and what
surrounds them) into its own database (`BENCH_DATABASE_URL`'s server, database
`<name>_dashboard`, dropped and recreated), runs VACUUM ANALYZE, then times every statement
the national dashboard runs, as the median of `REPEATS` runs, and all the statements of the
dashboards of the country and of its largest governorate, district and municipality.
Prints a Markdown table; exits 1 if any statement takes `LIMIT_MS` or more.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.dashboard_load import load
from bench.run import LOCALITIES, PG_URL
from core import area_counts as counts
from core import dashboard as d
from core.applications import Application
from core.calls import Call
from core.clock import BEIRUT
from core.db import make_engine, utcnow
from core.geography import NATIONAL, Area, resolve_area
from core.links import Link
from schema import migrate

LIMIT_MS = 200.0
REPEATS = 7


def database_url() -> str:
    url = make_url(PG_URL)
    return url.set(database=f"{url.database or 'intake_bench'}_dashboard").render_as_string(False)


def statements(now: datetime) -> list[tuple[str, Callable[[Session], object]]]:
    """Every statement of the national dashboard, by what it counts."""
    today = now.astimezone(BEIRUT).date()
    week = d.week_start_of(today)
    since = counts.beirut_days(today)[0][1]
    area = NATIONAL
    by_area = {
        "links sent": d.LINKS_SENT,
        "links opened": d.LINKS_OPENED,
        "links used": d.LINKS_USED,
        "forms started": d.FORMS_STARTED,
        "forms completed": d.FORMS_COMPLETED,
        "acknowledgements sent": d.RECEIPTS_SENT,
        "acknowledgements delivered": d.RECEIPTS_DELIVERED,
        **{f"complaints {k}": m for k, m in d.complaint_measures(area, now).items()},
        **{f"active cases {k}": m for k, m in d.CASES.items()},
        **{f"needs: {k.replace('_', ' ')}": m for k, m in d.needs_measures(week).items()},
    }
    by_day = {
        "links sent": (d.LINKS_SENT, Link.created_on),
        "forms completed": (d.FORMS_COMPLETED, Application.submitted_on),
        "calls": (d.CALLS_ALL, Call.started_at),
        "abandoned calls": (d.CALLS_ABANDONED, Call.started_at),
    }
    rows: list[tuple[str, Callable[[Session], object]]] = [
        (f"{label}, by governorate", lambda s, m=m: counts.by_area(s, area, m))
        for label, m in by_area.items()
    ]
    rows += [
        (f"{label}, by day (14 days)", lambda s, m=m, c=c: counts.by_day(s, area, m, c, today))
        for label, (m, c) in by_day.items()
    ]
    rows += [
        (
            "calls answered: count and mean wait, then 90th percentile (2 statements)",
            lambda s: d.call_waits(s, area, since),
        ),
        (
            "municipal decisions in effect, by category",
            lambda s: d.decisions_in_effect(s, area, today),
        ),
        ("circulars", d.circulars),
        ("needs: municipalities that filed this week", lambda s: d.filed_this_week(s, area, week)),
        ("municipalities", lambda s: d.municipalities(s, area)),
    ]
    return rows


def largest_areas(session: Session) -> list[tuple[str, Area]]:
    """The national dashboard and those of the largest governorate, district, municipality."""
    found = [("national", NATIONAL)]
    for level, column in (
        ("governorate", Application.governorate_code),
        ("district", Application.district_code),
        ("municipality", Application.locality_code),
    ):
        count = func.count()
        code, number = session.execute(
            select(column, count).where(column.is_not(None)).group_by(column).order_by(count.desc())
        ).first() or ("", 0)
        found.append(
            (f"largest {level} ({code}, {number:,} applications)", resolve_area(session, code))
        )
    return found


def median_ms(work: Callable[[], object], repeats: int = REPEATS) -> float:
    work()  # warm the cache once, as a page served a minute ago would have
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def explain(engine: Engine, session: Session, work: Callable[[Session], object]) -> None:
    """Print the plan of each statement `work` runs, as PostgreSQL executed it."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        work(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    cursor = session.connection().connection.cursor()
    for statement, parameters in seen:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        print("\n".join(f"    {line}" for (line,) in cursor.fetchall()))


def main(argv: list[str]) -> int:
    url = database_url()
    if "--keep" not in argv:
        from tests.support.stack import recreate_database

        url = recreate_database(url, make_url(url).database or "intake_bench_dashboard")
        engine = make_engine(url)
        migrate.upgrade(engine)
        started = time.perf_counter()
        counts = load(engine, LOCALITIES.read_bytes())
        print(f"loaded in {time.perf_counter() - started:.0f} s: {counts}", file=sys.stderr)
    else:
        engine = make_engine(url)
    now = utcnow()
    results = []
    with Session(engine) as session:
        for label, work in statements(now):
            if "--explain" in argv:
                print(f"{label}:")
                explain(engine, session, work)
            results.append((label, median_ms(lambda w=work: w(session))))
        pages = [
            (label, median_ms(lambda a=area: d.dashboard(session, a, now), repeats=3))
            for label, area in largest_areas(session)
        ]
    engine.dispose()
    print(
        f"| national dashboard, 1,000,000 applications (PostgreSQL), median of {REPEATS} "
        f"| ms | under {LIMIT_MS:.0f} ms |"
    )
    print("| --- | --- | --- |")
    for label, ms in results:
        print(f"| {label} | {ms:.1f} | {'yes' if ms < LIMIT_MS else '**no**'} |")
    for label, ms in pages:
        print(f"| all the dashboard's statements, {label} | {ms:.0f} | – |")
    return 0 if all(ms < LIMIT_MS for _label, ms in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
