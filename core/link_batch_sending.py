"""Sending a confirmed batch: its links issued and their SMS owed, a chunk per transaction.

Each chunk takes the batch's row lock (PostgreSQL; SQLite serialises writers), reads the next
READY rows, asks the store's refusals again for them (hours may have passed since the check),
issues each link and owes its SMS (`core.receipts.owe_link_sms`: STOP and the daily cap are
applied once more under the phone's lock) and marks the row ISSUED, all in the caller's
transaction. A crash loses at most the chunk's transaction, links and SMS with it, so the next
run issues those rows again and no number gets two links; two copies of the job take turns.

The SMS are owed to the outbox like every other: the relay and the sender hand them to the
gateway at its rate (`sms.send_rate`), so 5,000 links never burst past what the gateway takes.
One audit event per chunk says how many links it issued; the batch's rows name each link.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.link_batch_checks import refusals
from core.link_batches import BatchRow, BatchState, LinkBatch, Outcome
from core.link_lifecycle import OutsideWindow, TooManyLinks, issue_link
from core.receipts import owe_link_sms
from core.sayings import Compose
from core.users import StaffUser

CHUNK = 100  # rows per transaction: a crash re-does at most this many, a commit is cheap
ACTOR = "job:send_link_batch"


@dataclass(frozen=True)
class Sending:
    """What the job sends with: the settings it reads, and how SMS are worded."""

    public_base_url: str
    token_key: str
    ttl_days: int
    compose: Compose


@dataclass
class ChunkDone:
    """What one chunk did: rows reached (0 once the batch is finished), SMS to hand over."""

    rows: int = 0
    to_dispatch: list[int] = field(default_factory=list)
    changes: list[dict[str, object]] = field(default_factory=list)  # each row's new values


def send_chunk(session: Session, batch_id: int, sending: Sending, size: int = CHUNK) -> ChunkDone:
    """Issue the links of the next `size` READY rows of a confirmed batch, in this transaction."""
    batch = session.get(LinkBatch, batch_id, with_for_update=True, populate_existing=True)
    if batch is None or batch.state != BatchState.SENDING:
        return ChunkDone()
    stmt = (
        select(BatchRow)
        .where(BatchRow.batch_id == batch_id, BatchRow.outcome == Outcome.READY)
        .order_by(BatchRow.line)
        .limit(size)
    )
    rows = list(session.scalars(stmt))
    sender = session.get(StaffUser, batch.sender_id)
    if not rows or sender is None:
        _finish(session, batch)
        return ChunkDone()
    done = ChunkDone(len(rows))
    try:
        _issue(session, batch, sender, rows, sending, done)
    except OutsideWindow:
        _close(session, batch)
    counts = Counter(str(change["outcome"]) for change in done.changes)
    audit.record(session, ACTOR, "link_batch.chunk_sent", "link_batch", str(batch.id), counts)
    return done


def _issue(
    session: Session,
    batch: LinkBatch,
    sender: StaffUser,
    rows: list[BatchRow],
    sending: Sending,
    done: ChunkDone,
) -> None:
    """Each row's link and SMS; the rows' outcomes written in one statement at the end (by
    primary key), not one UPDATE per row between the link's statements."""
    refused = refusals(session, [row.phone for row in rows])
    try:
        for row in rows:
            change, dispatch = _one(session, batch, sender, row, refused, sending)
            done.changes.append({"id": row.id} | change)
            done.to_dispatch.extend(dispatch)
    finally:  # the round closing mid-chunk keeps what was issued before it
        if done.changes:
            session.execute(update(BatchRow), done.changes)


def _one(
    session: Session,
    batch: LinkBatch,
    sender: StaffUser,
    row: BatchRow,
    refused: dict[str, Outcome],
    sending: Sending,
) -> tuple[dict[str, object], tuple[int, ...]]:
    """The row's new values, and the SMS to hand over after the commit."""
    if row.phone is None or row.phone in refused:
        return {"outcome": refused.get(row.phone or "", Outcome.INVALID)}, ()
    try:
        link, _token = issue_link(
            session,
            sender,
            row.phone,
            batch.language,
            ttl_days=sending.ttl_days,
            token_key=sending.token_key,
        )
    except TooManyLinks:
        return {"outcome": Outcome.TODAY}, ()
    owing = owe_link_sms(session, link, sending.public_base_url, sending.compose)
    issued = {"outcome": Outcome.ISSUED, "link_id": link.id, "message_id": owing.message_id}
    return issued, owing.to_dispatch


def _close(session: Session, batch: LinkBatch) -> None:
    """The round closed while sending: the rows not reached are not sent (circular 5.1(a))."""
    session.execute(
        update(BatchRow)
        .where(BatchRow.batch_id == batch.id, BatchRow.outcome == Outcome.READY)
        .values(outcome=Outcome.WINDOW_CLOSED)
        .execution_options(synchronize_session="fetch")
    )
    _finish(session, batch)


def _finish(session: Session, batch: LinkBatch) -> None:
    batch.state, batch.finished_at = BatchState.DONE, utcnow()
    audit.record(session, ACTOR, "link_batch.done", "link_batch", str(batch.id))
