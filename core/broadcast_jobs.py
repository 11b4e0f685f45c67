"""The job that sends a confirmed or approved broadcast: recipients once, then SMS in chunks.

Safe to run twice and to resume after a crash: the snapshot is written once (its time is
stored with it, in the same transaction), each chunk is owed in a transaction of its own, and a
recipient tied to its message is never owed again (`core/broadcast_audience.py`). Chunks after
the first are due later, so the outbox hands the broadcast to the gateway at `PACE_SHARE` of
its rate; the relay (with Redis) or the sweep (without) sends each SMS as it falls due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import audit
from core.broadcast_audience import PACE_SHARE, SLICE, owe_chunk, progress, snapshot
from core.broadcasts import Broadcast, BroadcastStatus
from core.db import utcnow
from core.queue import job_settings, job_transaction

log = logging.getLogger(__name__)

CHUNK = 5000  # recipients owed per transaction (well under a second each; ~100 s of sending)


def send_broadcast(broadcast_id: int, chunk: int = CHUNK) -> None:
    """Snapshot the audience of a SENDING broadcast and owe every recipient's SMS, once."""
    if not _snapshot(broadcast_id):
        return
    pace = max(1.0, job_settings().sms_max_per_second * PACE_SHARE)  # SMS a second
    spacing = timedelta(seconds=SLICE / pace)
    start, after, owed = utcnow(), 0, 0
    while True:
        with job_transaction() as session:
            broadcast = _sending(session, broadcast_id)
            if broadcast is None:
                return
            due = start + timedelta(seconds=owed / pace)
            step = owe_chunk(session, broadcast, after, chunk, due, spacing)
            if step is None:
                _finish(session, broadcast)
                return
        after, owed = step[0], owed + step[1]


def _sending(session: Session, broadcast_id: int) -> Broadcast | None:
    """The broadcast, locked while this transaction works on it, if it is still sending."""
    broadcast = session.get(Broadcast, broadcast_id, with_for_update=True, populate_existing=True)
    if broadcast is None or broadcast.status != BroadcastStatus.SENDING:
        return None
    return broadcast


def _snapshot(broadcast_id: int) -> bool:
    """Write the recipients unless a previous run did; whether there is anything to owe."""
    with job_transaction() as session:
        broadcast = _sending(session, broadcast_id)
        if broadcast is None:
            log.info("broadcast %s is not sending: nothing to do", broadcast_id)
            return False
        if broadcast.snapshot_at is None:
            counted = snapshot(session, broadcast)
            broadcast.recipients, broadcast.skipped = counted.total, counted.stopped
            broadcast.snapshot_at = utcnow()
    return True


def _finish(session: Session, broadcast: Broadcast, now: datetime | None = None) -> None:
    """Every SMS owed: SENT, audited with the counts."""
    broadcast.status = BroadcastStatus.SENT
    broadcast.finished_at = now or utcnow()
    done = progress(session, broadcast)
    details: dict[str, str | int] = {
        "level": broadcast.level,
        "segments": broadcast.segments,
        "recipients": broadcast.recipients or 0,
        "owed": done.total - done.skipped,
        "skipped": done.skipped,
    }
    audit.record(session, audit.SYSTEM, "broadcast.sent", "broadcast", str(broadcast.id), details)
    log.info("broadcast %s: %d SMS owed", broadcast.id, details["owed"])
