"""Owed SMS handed to Twilio per second by the Procfile's relay, worker and senders.

N owed messages are written to a fresh PostgreSQL database (PENDING, as a burst of form
posts leaves them); then the Procfile's `relay`, `worker` and `sender` processes are started
as the Procfile writes them, against a fake Twilio on loopback (tests/plugins/fake_twilio.py, a
thread server in this process). The figure is the SMS accepted by the fake per second, from
the first to the last; every message must be accepted exactly once, and the target is 200
a second (exit 1 below it). The fake's own ceiling
is measured first with wrk, so that it is known not to be the bottleneck.

`python -m bench.outbound [--count N]`; BENCH_DATABASE_URL (its database is replaced by
`intake_bench_outbound`) and BENCH_OUTBOUND_REDIS_URL (db 11 by default, flushed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from redis import Redis
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bench.load import cpu_seconds
from core.db import make_engine, utcnow
from core.messages import Direction, Message, MessageStatus
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, _basic
from tests.support.stack import BIN, ROOT, Stack, kill, recreate_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
REDIS_URL = os.environ.get("BENCH_OUTBOUND_REDIS_URL", "redis://127.0.0.1:6379/11")
DATABASE = "intake_bench_outbound"
PROCESSES = ("relay", "worker", "sender")
TARGET = 200  # SMS/s handed over (issue 15)
RATE = 1000  # SMS_MAX_PER_SECOND for the run: the limiter is not what is measured here


def owe(database_url: str, count: int) -> None:
    """`count` owed acknowledgements, each to its own number, as form posts leave them."""
    engine = make_engine(database_url)
    now = utcnow()
    rows = [
        {
            "direction": Direction.OUTBOUND,
            "phone": f"+9617{n:07d}",
            "body": f"Your form is received. Reference {n:08d}.",
            "language": "en",
            "purpose": "receipt",
            "status": MessageStatus.PENDING,
            "segments": 1,
            "capped": False,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    with Session(engine) as session:
        session.execute(insert(Message), rows)
        session.commit()
    engine.dispose()


def procfile_commands() -> dict[str, str]:
    """The relay, worker and sender lines of the Procfile, exactly as written there."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    found = dict(line.split(":", 1) for line in lines if ":" in line)
    return {name: found[name].strip() for name in PROCESSES}


def fake_ceiling(fake: FakeTwilio, seconds: int = 3) -> float:
    """Message creations per second the fake Twilio answers (wrk, 2 threads, 16 connections)."""
    if shutil.which("wrk") is None:
        return float("nan")
    script = Path(tempfile.mkdtemp()) / "create.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.headers["Authorization"] = "{_basic(ACCOUNT_SID, AUTH_TOKEN)}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        'wrk.body = "To=%2B96170000000&From=%2B15005550006&Body=ceiling"\n'
    )
    url = f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else float("nan")


def run(count: int, senders: int) -> dict[str, object]:
    database_url = recreate_database(PG_URL, DATABASE)
    from schema import migrate

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    Redis.from_url(REDIS_URL).flushdb()
    owe(database_url, count)
    with FakeTwilio() as fake:
        _keep_alive(fake)
        ceiling = fake_ceiling(fake)
        baseline = _accepted(fake)
        stack = Stack(database_url, REDIS_URL, fake)
        stack.env.update(
            SMS_MAX_PER_SECOND=str(RATE),
            SMS_SENDERS=str(senders),
            PATH=f"{BIN}{os.pathsep}{stack.env.get('PATH', '')}",  # the Procfile's `rq`, `flask`
        )
        processes = [
            subprocess.Popen(  # noqa: S602 - the Procfile's own lines, run as a platform would
                command,
                shell=True,
                cwd=ROOT,
                env=stack.env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for command in procfile_commands().values()
        ]
        sessions = {process.pid for process in processes}
        try:
            first, last, sent, cpu = _watch(fake, baseline, count, sessions)
        finally:
            for process in processes:
                kill(process)
        bodies = [m["body"] for m in fake.messages[baseline:]]
    twice = sum(n - 1 for n in Counter(bodies).values() if n > 1)
    statuses = _statuses(database_url)
    elapsed = max(last - first, 1e-9)
    return {
        "owed": count,
        "handed over": sent,
        "sent twice": twice,
        "store": ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
        "SMS/s": f"{(sent - 1) / elapsed:.0f}",
        "fake Twilio ceiling/s": f"{ceiling:.0f}",
        "senders": f"worker + {senders}",
        "CPU ms/SMS: relay+workers": f"{cpu['procfile'] / max(sent - 1, 1) * 1000:.2f}",
        "fake Twilio": f"{cpu['fake'] / max(sent - 1, 1) * 1000:.2f}",
        "PostgreSQL": f"{cpu['postgres'] / max(sent - 1, 1) * 1000:.2f}",
        "Redis": f"{cpu['redis-server'] / max(sent - 1, 1) * 1000:.2f}",
    }


def _keep_alive(fake: FakeTwilio) -> None:
    """Answer in HTTP/1.1 as Twilio does, so a sender keeps its connection (each answer of the
    fake has a Content-Length); the fake's default, HTTP/1.0, costs a connect per message."""
    server = fake._server
    if server is not None:
        server.RequestHandlerClass.protocol_version = "HTTP/1.1"  # type: ignore[attr-defined]


def _accepted(fake: FakeTwilio) -> int:
    """Messages the fake has accepted, counted without copying them (it polls often)."""
    with fake._lock:
        return len(fake._messages)


def _cpu(sessions: set[int]) -> Counter[str]:
    """CPU seconds so far: the Procfile's processes (by their sessions), this process (the
    fake Twilio's threads), and PostgreSQL and Redis."""
    used = cpu_seconds(database=DATABASE)
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in sessions:  # field 6 of stat: the session id
            used["procfile"] += (int(fields[11]) + int(fields[12])) / tick
    own = os.times()
    used["fake"] = own.user + own.system
    return used


def _watch(
    fake: FakeTwilio, baseline: int, count: int, sessions: set[int]
) -> tuple[float, float, int, Counter[str]]:
    """(first accepted, last accepted, how many, CPU seconds between) by the fake Twilio,
    polled every 100 ms."""
    first = last = 0.0
    at_first = at_last = Counter[str]()
    sent, idle_since = 0, time.monotonic()
    deadline = time.monotonic() + 60 + count / 20
    while time.monotonic() < deadline:
        now_sent = _accepted(fake) - baseline
        now = time.monotonic()
        if now_sent > sent:
            if not first:
                first, at_first = now, _cpu(sessions)
            last, sent, idle_since, at_last = now, now_sent, now, _cpu(sessions)
        if sent >= count or (sent and now - idle_since > 20):
            break
        time.sleep(0.1)
    at_last.subtract(at_first)
    return first, last, sent, at_last


def _statuses(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Message.status, func.count()).group_by(Message.status))
        counted = Counter({str(status): int(n) for status, n in rows})
    engine.dispose()
    return counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6000, help="owed SMS [6000]")
    parser.add_argument("--senders", type=int, default=3, help="SMS_SENDERS [3]")
    args = parser.parse_args()
    row = run(args.count, args.senders)
    print("### Outbound SMS: relay + Procfile workers -> fake Twilio (PostgreSQL, Redis)\n")
    print("| " + " | ".join(row) + " |")
    print("|" + "---|" * len(row))
    print("| " + " | ".join(str(v) for v in row.values()) + " |")
    complete = row["handed over"] == args.count and row["sent twice"] == 0
    return 0 if complete and float(str(row["SMS/s"])) >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
