"""Complete form submissions per second under gunicorn on PostgreSQL and Redis.

Each request is a citizen's last page: validate it, store the application with its family
keys and the owed acknowledgement, consume the link, commit, enqueue the SMS job. The first
three pages are saved beforehand, one link per request, so every request is a real, distinct
family. `/livez` on the same server in the same run shows what the server alone costs.
Run with `bin/bench` (it calls this after bench.run); needs `wrk` (Debian's package).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from redis import Redis
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.db import make_engine
from core.household import clean_page
from core.links import Link, issue_link
from core.users import StaffUser
from tests.fake_twilio import FakeTwilio
from tests.households import pages
from tests.stack import Stack, fresh_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
LINKS = 12_000
DURATION = "10s"
CONNECTIONS = 32
WRK_SCRIPT = Path(__file__).with_name("submit.lua")


def prepare_links(database_url: str, count: int) -> list[str]:
    """`count` links whose first three pages are saved, each for a different family."""
    engine = make_engine(database_url)
    template = {
        page: clean_page(page, values, today=date.today(), locality_exists=lambda _code: True)[0]
        for page, values in pages(0).items()
        if page != "finances"
    }
    tokens, rows = [], []
    with Session(engine) as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == "focal")).one()
        model, token = issue_link(session, user, "+9613123456", "ar")
        session.rollback()
        for n in range(1, count + 1):
            token, draft = _draft(n, template)
            tokens.append(token)
            rows.append(_row(model, token, draft))
        session.execute(insert(Link), rows)
        session.commit()
    engine.dispose()
    return tokens


def _draft(n: int, template: dict[str, dict[str, object]]) -> tuple[str, str]:
    import secrets

    draft = json.loads(json.dumps(template))
    draft["personal"]["head_id_number"] = f"{300000000 + n}"
    draft["personal"]["registry_number"] = str(n)
    draft["family"]["members"][0]["id_number"] = f"{400000000 + n}"
    return secrets.token_urlsafe(18), json.dumps(draft, ensure_ascii=False, sort_keys=True)


def _row(model: Link, token: str, draft: str) -> dict[str, object]:
    from core.links import hash_token

    return {
        "token_hash": hash_token(token),
        "channel": model.channel,
        "programme_id": model.programme_id,
        "sender_id": model.sender_id,
        "phone": model.phone,
        "language": "ar",
        "draft": draft,
        "created_at": model.created_at,
        "opened_at": model.created_at,  # the citizen opened it to fill the first pages
        "expires_at": model.expires_at,
        "governorate_code": model.governorate_code,
        "district_code": model.district_code,
        "locality_code": model.locality_code,
    }


def cpu_seconds() -> Counter[str]:
    """CPU time used so far by the service's processes, by kind (Linux /proc)."""
    used: Counter[str] = Counter()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        kind = "gunicorn" if b"gunicorn" in command else name
        if kind in ("gunicorn", "postgres", "redis-server"):
            used[kind] += (int(fields[11]) + int(fields[12])) / tick
    return used


def wrk(
    url: str, script: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Requests/s, latency and, per request, the CPU milliseconds of each server process."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(script)]
    before = cpu_seconds()
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout
    used = cpu_seconds()
    used.subtract(before)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        **{f"cpu_{kind}": 1000 * seconds / max(requests, 1) for kind, seconds in used.items()},
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "errors": float(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out))
        else 0.0,
    }


def _ms(value: str) -> float:
    number, unit = float(re.match(r"[\d.]+", value).group(0)), value.lstrip("0123456789.")  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> int:
    database_url = fresh_database(PG_URL, name=make_engine(PG_URL).url.database or "intake_bench")
    Redis.from_url(REDIS_URL).flushdb()
    tokens = prepare_links(database_url, LINKS)
    body = urlencode(pages(0)["finances"], doseq=True)
    # The Procfile's web process: WEB_CONCURRENCY workers (4), 4 threads each.
    workers = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
    threads = int(os.environ.get("BENCH_WEB_THREADS", "4"))
    with FakeTwilio() as twilio, tempfile.NamedTemporaryFile("w", suffix=".txt") as token_file:
        token_file.write("\n".join(tokens))
        token_file.flush()
        stack = Stack(database_url, REDIS_URL, twilio)
        stack.env["INTAKE_ENV"] = "test"
        stack.env["PUBLIC_BASE_URL"] = "https://intake.bench"
        try:
            stack.start_web(workers=workers, threads=threads)
            live = wrk(f"{stack.base}/livez")
            submit = wrk(stack.base, WRK_SCRIPT, {"TOKENS": token_file.name, "BODY": body})
        finally:
            stack.stop()
    engine = make_engine(database_url)
    with Session(engine) as session:
        stored = int(session.scalar(select(func.count()).select_from(Application)) or 0)
    engine.dispose()
    print(
        "| endpoint | requests/s | p50 (ms) | p99 (ms) | non-2xx "
        "| CPU ms/request: gunicorn | PostgreSQL | Redis |\n|---|---|---|---|---|---|---|---|"
    )
    for label, row in (
        ("GET /livez", live),
        ("POST /f/<token>/finances (complete submission)", submit),
    ):
        print(
            f"| {label} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} "
            f"| {row['errors']:.0f} | {row.get('cpu_gunicorn', 0):.2f} "
            f"| {row.get('cpu_postgres', 0):.2f} | {row.get('cpu_redis-server', 0):.2f} |"
        )
    print(f"\napplications stored: {stored}; gunicorn: {workers} workers × {threads} threads")
    return 0 if submit["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
