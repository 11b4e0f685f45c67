"""Links in bulk at the largest batch a focal point may send: 5,000 numbers, on PostgreSQL.

Validate: the pasted text read (`webforms.bulk_upload.parse`), every row normalised and checked
against the store (STOP, links today, the daily cap) and the batch stored with its rows, one
transaction (`core.link_batch_checks.store_checked`). Queue: the batch confirmed and sent the
way the job sends it, a chunk per transaction (`core.link_batch_sending.send_chunk`): 5,000
links issued and 5,000 SMS owed to the outbox; handing them to the gateway is the relay's and
the senders' work, measured by `bench.outbound`. Memory is the process's peak resident size
(ru_maxrss) after each step (tracemalloc would slow the queue step down several times over), and
Python's own peak allocations while validating (tracemalloc, that step only). Every number must
get exactly one link and one owed SMS.

`python -m bench.bulk_links [--count N]`; BENCH_DATABASE_URL (its database is replaced by
`intake_bench_bulk_links`).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker, transaction
from core.link_batch_checks import store_checked
from core.link_batch_sending import Sending, send_chunk
from core.link_batches import LinkBatch, Outcome, confirm, count_of
from core.links import Link
from core.messages import Message, MessageStatus
from core.users import StaffUser
from tests.support.stack import fresh_database
from texts.sms import compose
from webforms.bulk_upload import parse

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
DATABASE = "intake_bench_bulk_links"
FORMS = ("71{:06d}", "+961 71 {:06d}", "0096171{:06d}", "71-{:06d}")  # as focal points type them
T = TypeVar("T")


def pasted(count: int) -> str:
    """`count` distinct mobiles, one per line, typed in assorted Lebanese forms."""
    return "\n".join(FORMS[n % len(FORMS)].format(n) for n in range(count))


def measured(work: Callable[[], T], trace: bool = False) -> tuple[T, float, float, float]:
    """The work's result, its seconds, the process's peak RSS after it and Python's peak
    allocations during it (MB; 0 unless traced)."""
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    python_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    tracemalloc.stop()
    return result, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, python_peak


def validate(factory: sessionmaker[Session], text: str) -> int:
    with transaction(factory) as session:
        focal = session.scalars(select(StaffUser).where(StaffUser.username == "focal")).one()
        return store_checked(session, focal, "ar", parse(text)).id


def queue(factory: sessionmaker[Session], batch_id: int) -> int:
    """Confirm, then issue links and owe SMS a chunk per transaction, as the job does."""
    with transaction(factory) as session:
        focal = session.scalars(select(StaffUser).where(StaffUser.username == "focal")).one()
        batch = session.get(LinkBatch, batch_id)
        assert batch is not None
        confirm(session, focal, batch)
    sending = Sending("https://intake.example", "bench-secret-" + "x" * 32, 7, compose)
    chunks = 0
    while True:
        with transaction(factory) as session:
            done = send_chunk(session, batch_id, sending)
        if not done.rows:
            return chunks
        chunks += 1


def check_result(factory: sessionmaker[Session], batch_id: int, count: int) -> None:
    with factory() as session:
        assert count_of(session, batch_id, Outcome.ISSUED) == count
        phones = session.scalar(select(func.count(func.distinct(Link.phone)))) or 0
        links = session.scalar(select(func.count()).select_from(Link)) or 0
        owed = session.scalar(
            select(func.count()).where(
                Message.purpose == "form_link", Message.status == MessageStatus.PENDING
            )
        )
    assert phones == links == owed == count, (phones, links, owed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    count = parser.parse_args().count
    url = fresh_database(PG_URL, DATABASE)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    text = pasted(count)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    batch_id, validate_s, validate_rss, traced = measured(lambda: validate(factory, text), True)
    chunks, queue_s, queue_rss, _ = measured(lambda: queue(factory, batch_id))
    check_result(factory, batch_id, count)
    engine.dispose()
    print(f"## Links in bulk: {count:,} numbers, PostgreSQL ({chunks} chunks of the job)\n")
    print("| step | seconds | per number (ms) | peak RSS after (MB) |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| (before) | | | {before:.0f} |")
    for step, seconds, rss in (
        ("validate (read, check, store the batch)", validate_s, validate_rss),
        ("queue (issue links, owe SMS)", queue_s, queue_rss),
    ):
        print(f"| {step} | {seconds:.2f} | {seconds / count * 1000:.2f} | {rss:.0f} |")
    print(f"\nPython's peak allocations while validating (tracemalloc): {traced:.1f} MB.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
