"""Complete form submissions per second under gunicorn on PostgreSQL and Redis.

Each request is a citizen's last page: validate it, store the application with its family
keys and the owed acknowledgement, consume the link, commit, enqueue the SMS job. The first
three pages are saved beforehand, one link per request, so every request is a real, distinct
family. `/livez` on the same server in the same run shows what the server alone costs.
Run with `bin/bench` (it calls this after bench.run); needs `wrk` (Debian's package).

`BENCH_ACKNOWLEDGE=1` also runs the Procfile's processes that hand the acknowledgement to
the gateway (`relay`, `worker`, `sender`, each as the Procfile runs it) against the fake
Twilio during the load, and reports how long each acknowledgement took from the submission's
commit (the message's `created_at`) to the gateway accepting it (`updated_at`, when it became
QUEUED); the CPU columns then include the store work of those processes.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from redis import Redis
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bench.load import print_table, wrk
from core.applications import Application
from core.db import make_engine
from core.fields import Context
from core.household import clean_page_in
from core.link_lifecycle import issue_link
from core.links import Link
from core.messages import Message, MessageStatus
from core.users import StaffUser
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.households import pages
from tests.support.stack import Stack, fresh_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
LINKS = 12_000
WRK_SCRIPT = Path(__file__).with_name("requests.lua")
PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
ACK_PROCESSES = ("relay", "worker", "sender")  # what moves an owed SMS to the gateway
DRAIN_SECONDS = 180  # how long to wait after the load for the acknowledgements to be handed on


def prepare_links(database_url: str, count: int, first: int = 1) -> list[str]:
    """`count` links whose first three pages are saved, each for a different family (families
    `first` to `first + count - 1`: calls with ranges apart never name one family twice)."""
    engine = make_engine(database_url)
    every_locality = Context(date.today(), lambda _code: True)
    template = {
        page: clean_page_in(page, values, every_locality)[0]
        for page, values in pages(0).items()
        if page != "finances"
    }
    tokens, rows = [], []
    with Session(engine) as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == "focal")).one()
        model, token = issue_link(session, user, "+9613123456", "ar")
        session.rollback()
        for n in range(first, first + count):
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
    from core.link_tokens import hash_token

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


def main() -> int:
    database_url = fresh_database(PG_URL, name=make_engine(PG_URL).url.database or "intake_bench")
    Redis.from_url(REDIS_URL).flushdb()
    tokens = prepare_links(database_url, LINKS)
    body = urlencode(pages(0)["finances"], doseq=True)
    # The Procfile's web process: WEB_CONCURRENCY workers (4), 4 threads each.
    workers = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
    threads = int(os.environ.get("BENCH_WEB_THREADS", "4"))
    with FakeTwilio() as twilio, tempfile.NamedTemporaryFile("w", suffix=".txt") as token_file:
        token_file.write("\n".join(f"/f/{token}/finances\t-\t{body}" for token in tokens))
        token_file.flush()
        stack = Stack(database_url, REDIS_URL, twilio)
        stack.env["INTAKE_ENV"] = "test"
        stack.env["PUBLIC_BASE_URL"] = "https://intake.bench"
        acknowledge = os.environ.get("BENCH_ACKNOWLEDGE", "") not in ("", "0")
        try:
            stack.start_web(workers=workers, threads=threads)
            database = make_engine(database_url).url.database
            if acknowledge:  # started first: they are ready when the submissions begin
                for process in ACK_PROCESSES:
                    if command := _procfile_command(process):
                        stack._spawn(["sh", "-c", command])
            live = wrk(f"{stack.base}/livez", database=database)
            submit = wrk(stack.base, WRK_SCRIPT, {"REQUESTS": token_file.name}, database=database)
            if acknowledge:
                _wait_handed(database_url)
        finally:
            stack.stop()
    engine = make_engine(database_url)
    with Session(engine) as session:
        stored = int(session.scalar(select(func.count()).select_from(Application)) or 0)
        latencies = _acknowledgement_seconds(session)
    engine.dispose()
    print_table(
        [
            ("GET /livez", live),
            ("POST /f/<token>/finances (complete submission)", submit),
        ]
    )
    print(f"\napplications stored: {stored}; gunicorn: {workers} workers × {threads} threads")
    if acknowledge:
        print(_latency_line(latencies, stored))
    return 0 if submit["errors"] == 0 else 1


def _procfile_command(process: str) -> str | None:
    """The Procfile's command for `process`, run from the venv, or None if it has none."""
    for line in PROCFILE.read_text().splitlines():
        name, _sep, command = line.partition(":")
        if name.strip() == process and command.strip():
            venv = shlex.quote(str(Path(sys.executable).parent))
            return f"PATH={venv}:$PATH; exec {command.strip()}"
    return None


_NOT_YET = (MessageStatus.PENDING, MessageStatus.SENDING)


def _wait_handed(database_url: str) -> None:
    """Until every acknowledgement owed is handed to the gateway (or DRAIN_SECONDS pass)."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + DRAIN_SECONDS
    owed = select(func.count()).where(
        Message.purpose == "receipt", Message.status.in_([s.value for s in _NOT_YET])
    )
    with Session(engine) as session:
        while session.scalar(owed) and time.monotonic() < deadline:
            session.rollback()
            time.sleep(1)
    engine.dispose()


def _acknowledgement_seconds(session: Session) -> list[float]:
    """From the commit that owed each acknowledgement to the gateway's acceptance."""
    rows = session.execute(
        select(Message.created_at, Message.updated_at).where(
            Message.purpose == "receipt",
            Message.status.not_in([s.value for s in (*_NOT_YET, MessageStatus.SUPPRESSED)]),
        )
    )
    return sorted((handed - owed).total_seconds() for owed, handed in rows)


def _latency_line(latencies: list[float], stored: int) -> str:
    ran = ", ".join(p for p in ACK_PROCESSES if _procfile_command(p))
    if not latencies:
        return f"acknowledgements handed to the gateway ({ran}): none of {stored}"
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return (
        f"acknowledgements handed to the gateway ({ran}): {len(latencies)} of {stored}; "
        f"commit to gateway p50 {statistics.median(latencies):.2f} s, p99 {p99:.2f} s, "
        f"max {latencies[-1]:.2f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
