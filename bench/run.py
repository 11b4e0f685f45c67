"""Benchmarks of the foundation's hot paths, on SQLite and on PostgreSQL.

Run with `bin/bench` (or `.venv/bin/python -m bench.run`). Prints a Markdown table; the
README keeps the latest figures. Each figure is the median of a few repetitions on this
machine; the machines are shared, so read ratios and orders of magnitude, not decimals.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import audit
from core.db import make_engine, make_sessionmaker, transaction
from core.geography import load_localities, parse_locality_csv
from core.messages import Direction, Message, MessageStatus, messages_visible_to
from core.roles import Role
from core.users import add_user, authenticate
from schema import migrate

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
LOCALITIES = ROOT / "data" / "lebanon_localities.csv"
AUDIT_EVENTS = 500
VERIFY_EVENTS = 20_000
LOG_ROWS = 100_000
REPEATS = 3


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fresh_store(kind: str, workdir: Path) -> Engine:
    if kind == "sqlite":
        path = workdir / f"bench-{time.monotonic_ns()}.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
    else:
        from tests.support.stack import recreate_database

        engine = make_engine(recreate_database(PG_URL, make_url(PG_URL).database or "intake_bench"))
    migrate.upgrade(engine)
    return engine


def bench_geo_load(engine: Engine) -> float:
    rows = parse_locality_csv(LOCALITIES.read_bytes())
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        load_localities(session, rows)  # first load: adds
    # Loading again is what an operator does on every update: measure that (idempotent).
    return median_seconds(lambda: _load_in_transaction(factory, rows), repeats=2)


def _load_in_transaction(factory: object, rows: list) -> None:
    with transaction(factory) as session:  # type: ignore[arg-type]
        load_localities(session, rows)


def bench_audit_append(engine: Engine) -> float:
    """Events per second, one transaction per event (as each request does)."""
    factory = make_sessionmaker(engine)

    def append_many() -> None:
        for n in range(AUDIT_EVENTS):
            with transaction(factory) as session:
                audit.record(session, "bench", "bench.event", "thing", str(n), {"n": n})

    return AUDIT_EVENTS / median_seconds(append_many, repeats=1)


def bench_audit_verify(engine: Engine) -> float:
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        for n in range(VERIFY_EVENTS):
            audit.record(session, "bench", "bench.event", "thing", str(n), {"n": n})
    with factory() as session:
        seconds = median_seconds(lambda: audit.verify_chain(session))
        assert audit.verify_chain(session).ok
    return seconds


def bench_sign_in(engine: Engine) -> float:
    """Sign-ins per second in one process (Argon2 verification dominates, by design)."""
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        add_user(session, "bench-user", Role.MINISTRY, "LB", "a-long-bench-password", "bench")
    count = 10

    def sign_in_many() -> None:
        for _ in range(count):
            with transaction(factory) as session:
                authenticate(session, "bench-user", "a-long-bench-password", "127.0.0.1")

    return count / median_seconds(sign_in_many)


def bench_scoped_log(engine: Engine) -> tuple[float, float]:
    """Milliseconds for a focal point's newest 100 messages among LOG_ROWS, and the national."""
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        codes = [c for (c,) in session.execute(text("SELECT code FROM localities")).all()]
        focal = add_user(
            session,
            "bench-focal",
            Role.FOCAL_POINT,
            codes[0],
            "bench-cedar-harbour-lantern",
            "bench",
        )
        ministry = add_user(
            session, "bench-ministry", Role.MINISTRY, "LB", "bench-cedar-harbour-lantern", "bench"
        )
        _fill_log(session, codes)
    with factory() as session:
        session.execute(text("ANALYZE"))
        local = median_seconds(lambda: messages_visible_to(session, focal), repeats=5)
        national = median_seconds(lambda: messages_visible_to(session, ministry), repeats=5)
    return local * 1000, national * 1000


def _fill_log(session: Session, codes: list[str]) -> None:
    from core.geography import locality_area

    areas = [locality_area(session, code) for code in codes[:200]]
    batch = []
    for n in range(LOG_ROWS):
        message = Message(
            direction=Direction.INBOUND,
            phone="+9613123456",
            body="x",
            status=MessageStatus.RECEIVED,
        )
        message.place_in(areas[n % len(areas)])
        batch.append(message)
        if len(batch) == 5000:
            session.add_all(batch)
            session.flush()
            batch.clear()
    session.add_all(batch)


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgresql"):
            engine = fresh_store(kind, Path(tmp))
            geo = bench_geo_load(engine)
            appends = bench_audit_append(engine)
            verify = bench_audit_verify(engine)
            sign_ins = bench_sign_in(engine)
            local_ms, national_ms = bench_scoped_log(engine)
            engine.dispose()
            rows.append((kind, geo, appends, verify, sign_ins, local_ms, national_ms))
            print(f"{kind}: done", file=sys.stderr)
    print(
        "| store | geo load 1,545 localities again (s) | audit appends/s (1 tx each) | "
        f"audit verify {VERIFY_EVENTS:,} events (s) | sign-ins/s (1 process) | "
        f"focal point's newest 100 of {LOG_ROWS:,} messages (ms) | national newest 100 (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, geo, appends, verify, sign_ins, local_ms, national_ms in rows:
        print(
            f"| {kind} | {geo:.2f} | {appends:.0f} | {verify:.2f} | {sign_ins:.1f} | "
            f"{local_ms:.1f} | {national_ms:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
