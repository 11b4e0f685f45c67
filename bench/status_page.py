"""The citizens' status page under gunicorn on PostgreSQL and Redis: codes asked for, statuses
opened, and `/livez` beside them in the same run.

Two kinds of request, each a different family so every one does the whole work:
- asking for a code (`POST /status` with a reference): two throttle counts, the application
  looked up, today's codes counted, a code's keyed hash stored and its SMS owed (the relay
  hands it on, as in production);
- opening the status (`POST /status` with the reference and the right code): the throttle
  counts, the code checked and used up, the view audited, and the page rendered with the
  family's voucher and its QR code (every family here is selected and has its voucher: the
  heaviest page).
Each request comes from its own address (`X-Forwarded-For` behind `PROXY_HOPS=1`), as phones
do, so the per-address limits measure nothing but themselves. Run with
`.venv/bin/python -m bench.status_page` (`bin/bench` runs it); needs `wrk`.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from redis import Redis
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bench.load import print_table, wrk
from core.applications import Application
from core.clock import beirut_day
from core.db import make_engine, utcnow
from core.ed25519_keys import generate_private_key
from core.links import Link
from core.programme import current_programme
from core.references import new_reference
from core.status_codes import LIFETIME, StatusCode, code_hash
from distribution.handovers import issue_vouchers
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.factories import HOME
from tests.support.households import cleaned
from tests.support.list_factories import make_list
from tests.support.stack import Stack, fresh_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
DATABASE = "intake_bench_status"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
FAMILIES = 6_000  # of each kind: more than 10 s of either request reaches
CODE = "246810"  # every prepared code (each hash is bound to its application)
WRK_SCRIPT = Path(__file__).with_name("status_requests.lua")


def prepare(database_url: str, secret_key: str) -> tuple[list[str], list[str], list[str]]:
    """`FAMILIES` references to ask codes for; `FAMILIES` selected families with their
    voucher and an unused code `CODE` each, valid for the next ten minutes; and `FAMILIES`
    well-formed references that no application has."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        asking = _families(session, FAMILIES, "ask")
        viewing = _families(session, FAMILIES, "view")
        published = make_list(session, viewing)
        issue_vouchers(session, published, HOME, generate_private_key(), "bench")
        _codes(session, viewing, secret_key)
        session.commit()
        refs = ([a.reference for a in asking], [a.reference for a in viewing])
        taken = set(session.scalars(select(Application.reference)))
    engine.dispose()
    unknown: list[str] = []
    while len(unknown) < FAMILIES:
        reference = new_reference()
        if reference not in taken:
            unknown.append(reference)
    return refs[0], refs[1], unknown


def _families(session: Session, count: int, tag: str) -> list[Application]:
    """`count` applications in HOME, written in bulk (their forms' content is not read here)."""
    programme = current_programme(session)
    assert programme is not None
    now = utcnow()
    text = json.dumps(cleaned(1), ensure_ascii=False, sort_keys=True)
    place = {"governorate_code": "LB3", "district_code": "LB32", "locality_code": HOME}
    links = session.scalars(
        insert(Link).returning(Link.id),
        [
            {
                "token_hash": f"bench-{tag}-{n}-{secrets.token_hex(8)}",
                "channel": "hotline",
                "programme_id": programme.id,
                "phone": f"+96171{n:06d}",
                "language": "ar",
                "draft": "{}",
                "created_at": now,
                "expires_at": now + timedelta(days=7),
                "used_at": now,
            }
            for n in range(count)
        ],
    ).all()
    ids = session.scalars(
        insert(Application).returning(Application.id),
        [
            {
                "reference": new_reference(),
                "programme_id": programme.id,
                "link_id": link_id,
                "channel": "hotline",
                "phone": f"+96171{n:06d}",
                "language": "ar",
                "status": "received",
                "version": 1,
                "data": text,
                "submitted_at": now,
                "submitted_on": beirut_day(now),
                **place,
            }
            for n, link_id in enumerate(links)
        ],
    ).all()
    return list(session.scalars(select(Application).where(Application.id.in_(ids))))


def _codes(session: Session, families: list[Application], secret_key: str) -> None:
    now = utcnow()
    session.execute(
        insert(StatusCode),
        [
            {
                "application_id": a.id,
                "code_hash": code_hash(secret_key, a.id, CODE),
                "issued_on": beirut_day(now),
                "created_at": now,
                "expires_at": now + LIFETIME,
            }
            for a in families
        ],
    )


def _request_file(folder: Path, name: str, references: list[str], code: str | None) -> Path:
    """Lines of "forwarded address<TAB>form body" for the wrk script, one family each."""
    path = folder / name
    lines = []
    for n, reference in enumerate(references):
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        form = {"reference": reference, **({"code": code} if code else {})}
        lines.append(f"{address}\t{urlencode(form)}")
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    database_url = fresh_database(PG_URL, name=DATABASE)
    Redis.from_url(REDIS_URL).flushdb()
    workers = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
    threads = int(os.environ.get("BENCH_WEB_THREADS", "4"))
    with FakeTwilio() as twilio, tempfile.TemporaryDirectory() as tmp:
        stack = Stack(database_url, REDIS_URL, twilio)
        stack.env.update(INTAKE_ENV="test", PUBLIC_BASE_URL="https://intake.bench", PROXY_HOPS="1")
        asking, viewing, unknown = prepare(database_url, stack.env["SECRET_KEY"])
        asks = _request_file(Path(tmp), "asks.txt", asking, None)
        strangers = _request_file(Path(tmp), "unknown.txt", unknown, None)
        views = _request_file(Path(tmp), "views.txt", viewing, CODE)
        database = make_engine(database_url).url.database
        try:
            stack.start_web(workers=workers, threads=threads)
            live = wrk(f"{stack.base}/livez", database=database)
            asked = wrk(stack.base, WRK_SCRIPT, {"REQUESTS": str(asks)}, database=database)
            nobody = wrk(stack.base, WRK_SCRIPT, {"REQUESTS": str(strangers)}, database=database)
            viewed = wrk(stack.base, WRK_SCRIPT, {"REQUESTS": str(views)}, database=database)
        finally:
            stack.stop()
    print_table(
        [
            ("GET /livez", live),
            ("POST /status (a reference: a code asked for)", asked),
            ("POST /status (a reference no application has: the same answer)", nobody),
            ("POST /status (the right code: the status with its voucher)", viewed),
        ]
    )
    print(f"\n{_store_counts(database_url)}; gunicorn: {workers} workers × {threads} threads")
    wrapped = max(asked["requests"], nobody["requests"], viewed["requests"]) > FAMILIES
    if wrapped:
        print(f"note: more requests than the {FAMILIES:,} prepared families; repeats were refused")
    errors = asked["errors"] + nobody["errors"] + viewed["errors"]
    return 0 if errors == 0 and not wrapped else 1


def _store_counts(database_url: str) -> str:
    engine = make_engine(database_url)
    with Session(engine) as session:
        issued = session.scalar(select(func.count()).where(StatusCode.used_at.is_(None)))
        used = session.scalar(select(func.count()).where(StatusCode.used_at.is_not(None)))
    engine.dispose()
    return f"codes unused in the store: {issued:,}; codes used (statuses opened): {used:,}"


if __name__ == "__main__":
    sys.exit(main())
