"""An information SMS to a governorate of 100,000 known numbers: count, then queue.

A fresh PostgreSQL database holds Mount Lebanon's (LB3) residents as the service would: 70,000
applications (each with its link), 30,000 inbound SMS and 15,000 inbound calls whose numbers
overlap them, 100,000 distinct numbers in all, of which 2,000 sent STOP; and 20,000 more
records in Beirut that the broadcast must not reach. A governor writes the SMS and the
ministry approves it. Measured: the audience count the page shows (`count_audience`, the
validation), and the `SEND_BROADCAST` job run as a worker runs it: the recipients' snapshot
(one INSERT ... SELECT) and the SMS owed in chunks (INSERT ... SELECT + UPDATE per chunk), with
the Python heap's peak (tracemalloc) over both. The job is then run again: it must owe nothing.

`python -m bench.broadcast [--count N]`; BENCH_DATABASE_URL (its database is replaced by
`intake_bench_broadcast`); BENCH_BROADCAST_CHUNK (recipients a transaction, the job's CHUNK).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from core import broadcast_jobs
from core.applications import Application
from core.broadcast_audience import count_audience
from core.broadcast_jobs import send_broadcast
from core.broadcasts import Broadcast, clean_broadcast, decide, write_broadcast
from core.calls import Call
from core.db import make_engine, utcnow
from core.geography import resolve_area
from core.links import Link
from core.messages import Direction, Message
from core.opt_outs import SmsOptOut
from core.programme import set_window
from core.queue import JobContext, use_job_context
from core.roles import Role
from core.settings import Environment, Settings
from schema import migrate
from tests.support.factories import (
    ELSEWHERE,
    HOME,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
    load_sample_geography,
    make_user,
)
from tests.support.stack import recreate_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
DATABASE = "intake_bench_broadcast"
TEXT = "The emergency aid programme is open until 30 April. Call 1766 to apply, free of charge."
PLACES = (HOME, SAME_DISTRICT, SAME_GOVERNORATE)
BATCH = 10_000
CHUNK = int(os.environ.get("BENCH_BROADCAST_CHUNK", str(broadcast_jobs.CHUNK)))


def phone(n: int) -> str:
    return f"+9617{n:07d}"


def _area_columns(session: Session, code: str) -> dict[str, str | None]:
    area = resolve_area(session, code)
    return {
        "governorate_code": area.governorate_code,
        "district_code": area.district_code,
        "locality_code": area.locality_code,
    }


def _in_batches(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def seed(session: Session, count: int) -> None:
    """Applications, inbound SMS and calls over `count` numbers of LB3; Beirut besides."""
    programme = set_window(session, utcnow(), utcnow() + timedelta(days=9), "bench")
    places = [_area_columns(session, code) for code in PLACES]
    beirut = _area_columns(session, ELSEWHERE)
    apps, sms_from, sms_to = int(count * 0.7), int(count * 0.6), int(count * 0.9)
    calls_from = int(count * 0.85)
    now = utcnow()
    links = [
        {"token_hash": f"{n:064d}", "channel": "sms_link", "programme_id": programme.id,
         "phone": phone(n), "expires_at": programme.closes_at, "created_at": now}
        for n in range(apps)
    ]  # fmt: skip
    _in_batches(session, Link, links)
    link_ids = list(session.scalars(select(Link.id).order_by(Link.id)))
    applications = [
        {"reference": f"{n:010d}", "programme_id": programme.id, "link_id": link_ids[n],
         "channel": "sms_link", "phone": phone(n), "status": "received", "data": "{}",
         "submitted_at": now, **places[n % 3]}
        for n in range(apps)
    ]  # fmt: skip
    _in_batches(session, Application, applications)
    inbound = [
        {"direction": Direction.INBOUND, "phone": phone(n), "body": "INFO",
         "status": "received", **places[n % 3]}
        for n in range(sms_from, sms_to)
    ] + [
        {"direction": Direction.INBOUND, "phone": phone(count + n), "body": "INFO",
         "status": "received", **beirut}
        for n in range(count // 5)
    ]  # fmt: skip
    _in_batches(session, Message, inbound)
    calls = [
        {"call_sid": f"CA{n:032d}", "direction": Direction.INBOUND, "phone": phone(n),
         "status": "completed", **places[n % 3]}
        for n in range(calls_from, count)
    ]  # fmt: skip
    _in_batches(session, Call, calls)
    stops = [{"phone": phone(n), "stopped_at": now} for n in range(0, count, 50)]
    _in_batches(session, SmsOptOut, stops)
    session.commit()


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def approved_broadcast(session: Session) -> int:
    """A governor's SMS to LB3, counted and approved by the ministry: SENDING."""
    governor = make_user(session, Role.GOVERNOR, "LB3", username="governor")
    ministry = make_user(session, Role.MINISTRY, "LB", username="ministry")
    audience = count_audience(session, governor.area)
    draft = clean_broadcast({"text": TEXT, "language": "en"})
    broadcast = write_broadcast(session, governor, draft, audience.total, audience.stopped)
    decide(session, ministry, broadcast, approve=True)
    session.commit()
    return broadcast.id


def measure(engine: Engine, url: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        area = resolve_area(session, "LB3")
        counts = [timed(lambda: count_audience(session, area)) for _ in range(3)]
        broadcast_id = approved_broadcast(session)
    settings = Settings(Environment.TEST, url, "bench-secret-" + "x" * 32, "https://bench.test")
    use_job_context(JobContext.from_settings(settings))
    tracemalloc.start()
    queued, _ = timed(lambda: send_broadcast(broadcast_id, CHUNK))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    again, _ = timed(lambda: send_broadcast(broadcast_id))
    return _report(engine, broadcast_id, counts, queued, again, peak)


def _report(
    engine: Engine,
    broadcast_id: int,
    counts: list[tuple[float, Any]],
    queued: float,
    again: float,
    peak: int,
) -> list[tuple[str, str]]:
    with Session(engine) as session:
        broadcast = session.get_one(Broadcast, broadcast_id)
        purpose = f"broadcast:{broadcast_id}"
        owed = session.scalar(select(func.count()).where(Message.purpose == purpose)) or 0
        distinct = session.scalar(
            select(func.count(func.distinct(Message.phone))).where(Message.purpose == purpose)
        )
        snap = (broadcast.snapshot_at - broadcast.decided_at).total_seconds()
        chunks = (broadcast.finished_at - broadcast.snapshot_at).total_seconds()
    audience = counts[0][1]
    assert owed == distinct == audience.sendable, (owed, distinct, audience)
    return [
        ("numbers in the audience (STOP skipped)", f"{audience.total:,} ({audience.stopped:,})"),
        ("count the audience (validate), first", f"{counts[0][0] * 1000:.0f} ms"),
        ("count the audience, median of 3", f"{statistics.median(c[0] for c in counts) * 1000:.0f} ms"),
        ("queue: recipients + owed SMS (the job)", f"{queued:.2f} s"),
        ("  of which the recipients' snapshot", f"~{snap:.2f} s"),
        ("  of which the SMS owed in chunks", f"~{chunks:.2f} s"),
        ("SMS owed (each number once)", f"{owed:,}"),
        ("the job run again (owes nothing)", f"{again * 1000:.0f} ms"),
        ("peak Python heap during the job (tracemalloc)", f"{peak / 2**20:.1f} MiB"),
        ("peak RSS of the process (seeding included)", f"{_max_rss_mib():.0f} MiB"),
    ]  # fmt: skip


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="distinct numbers in LB3")
    args = parser.parse_args()
    url = recreate_database(PG_URL, DATABASE)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        load_sample_geography(session)
        seed(session, args.count)
    rows = measure(engine, url)
    engine.dispose()
    print(f"### An information SMS to {args.count:,} numbers (PostgreSQL)\n")
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
