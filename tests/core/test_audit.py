"""The audit trail: chained, append-only, and any edit, deletion or insertion is found and named."""

from __future__ import annotations

import hashlib
import json

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit
from core.audit import GENESIS_HASH, AuditEvent, AuditHead, PersonalDataInAudit, verify_chain
from core.db import utcnow
from tests.support.audit_owner import as_table_owner


def _three_events(db: Session) -> None:
    for n in range(3):
        audit.record(db, "tester", "test.event", "thing", str(n), {"n": n})


def test_events_chain_and_verify(db: Session, runner: FlaskCliRunner) -> None:
    _three_events(db)
    events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert verify_chain(db).ok
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact: 3 events" in result.output


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_changes(db: Session, statement: str) -> None:
    _three_events(db)
    change = (
        update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone else")
        if statement == "update"
        else delete(AuditEvent).where(AuditEvent.seq == 2)
    )
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(change)
    assert verify_chain(db).ok


@pytest.mark.parametrize(
    ("tamper", "broken", "reason"),
    [
        (update(AuditEvent).where(AuditEvent.seq == 2).values(details='{"n":7}'), 2, "altered"),
        (update(AuditEvent).where(AuditEvent.seq == 3).values(actor="x"), 3, "altered"),
        (delete(AuditEvent).where(AuditEvent.seq == 2), 2, "missing"),
        (delete(AuditEvent).where(AuditEvent.seq == 3), 3, "deleted"),
        (delete(AuditEvent).where(AuditEvent.seq == 1), 1, "missing"),
    ],
    ids=["edit-middle", "edit-last", "delete-middle", "delete-last", "delete-first"],
)
def test_tampering_is_detected_and_named(
    db: Session, runner: FlaskCliRunner, tamper: object, broken: int, reason: str
) -> None:
    _three_events(db)
    as_table_owner(db)
    db.execute(tamper)  # type: ignore[call-overload]
    db.flush()
    report = verify_chain(db)
    assert (report.broken_seq, reason in report.reason) == (broken, True)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {broken}" in result.output


def _forge(db: Session, seq: int, linked: bool = True) -> None:
    """Insert an event as a forger would: chained to the newest row, its own hash correct.

    No owner's rights needed: the triggers refuse UPDATE and DELETE, and INSERT is how every
    event is written.
    """
    newest = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    prev_hash = newest.hash if newest is not None and linked else GENESIS_HASH
    event = AuditEvent(
        seq=seq,
        at=utcnow(),
        actor="forger",
        action="test.event",
        object_type="thing",
        object_id="x",
        details="{}",
        prev_hash=prev_hash,
    )
    event.hash = audit.event_hash(event)
    db.add(event)
    db.flush()


@pytest.mark.parametrize(
    ("steps", "broken", "reason"),
    [
        ([("insert", 4)], 4, "event 4 was inserted after the chain's head"),
        ([("insert", 4), ("insert", 5)], 4, "event 4 was inserted after the chain's head"),
        ([("unlinked", 4)], 4, "event 4 was inserted after the chain's head"),
        ([("insert", 10)], 10, "event 10 was inserted after the chain's head"),
        ([("insert", 0)], 0, "event 0 was inserted before the chain's first event"),
        ([("delete", 3), ("insert", 3)], 3, "event 3 is not the one the head recorded"),
        ([("delete", 3), ("insert", 10)], 3, "events after 2 were deleted"),
    ],
    ids=[
        "after-head",
        "two-after-head",
        "after-head-unlinked",
        "far-beyond-head",
        "before-first",
        "newest-replaced",
        "newest-deleted-and-one-beyond",
    ],
)
def test_inserted_events_are_detected_and_named(
    db: Session, runner: FlaskCliRunner, steps: list[tuple[str, int]], broken: int, reason: str
) -> None:
    _three_events(db)
    if any(step == "delete" for step, _ in steps):
        as_table_owner(db)
    for step, seq in steps:
        if step == "delete":
            db.execute(delete(AuditEvent).where(AuditEvent.seq == seq))
        else:
            _forge(db, seq, linked=step == "insert")
    report = verify_chain(db)
    assert (report.broken_seq, report.reason) == (broken, reason)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {broken}: {reason}" in result.output


def test_rehashed_edit_is_still_caught_by_the_next_link(db: Session) -> None:
    """Rewriting an event and its own hash breaks the link from the event after it."""
    _three_events(db)
    as_table_owner(db)
    event = db.get(AuditEvent, 2)
    assert event is not None
    event.details = '{"n":99}'
    event.hash = audit.event_hash(event)
    db.flush()
    report = verify_chain(db)
    assert report.broken_seq == 3


@pytest.mark.parametrize(
    "details",
    [
        {"phone": "+9613123456"},
        {"head_first_name": "x"},
        {"id_number": "123"},
        {"nested": {"a": 1}},
        {"Bad Key": 1},
        {"note": "x" * 500},
    ],
)
def test_personal_or_unsafe_details_are_refused(db: Session, details: dict) -> None:
    with pytest.raises(PersonalDataInAudit):
        audit.record(db, "tester", "test.event", details=details)
    assert db.scalar(select(AuditEvent.seq)) is None


# --- the table's owner without the audit key ------------------------------------------------


def _hash_without_the_key(event: dict) -> str:
    """The attacker's hash: the chain's plain SHA-256 as it was before the audit key."""
    fields = ("seq", "actor", "action", "object_type", "object_id", "details", "prev_hash")
    values = [event[f] for f in fields]
    values.insert(1, event["at"].isoformat(timespec="microseconds"))
    payload = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _rewrite_without_the_key(db: Session, dropped: int) -> None:
    """Delete one event, renumber and re-hash every later one, and move the head to match."""
    as_table_owner(db)
    table = AuditEvent.__table__
    later = [dict(row._mapping) for row in db.execute(select(table).where(table.c.seq > dropped))]
    db.execute(delete(AuditEvent).where(AuditEvent.seq >= dropped))
    previous = db.get(AuditEvent, dropped - 1)
    prev_hash = previous.hash if previous is not None else GENESIS_HASH
    for event in sorted(later, key=lambda e: e["seq"]):
        event.update(seq=event["seq"] - 1, prev_hash=prev_hash)
        event["hash"] = prev_hash = _hash_without_the_key(event)
        db.execute(insert(table).values(**event))
    db.execute(update(AuditHead).values(seq=len(later) + dropped - 1, hash=prev_hash))
    db.flush()


@pytest.mark.parametrize("dropped", [1, 2, 3])
def test_a_chain_rewritten_without_the_key_is_named(
    db: Session, runner: FlaskCliRunner, dropped: int
) -> None:
    """The owner's rewrite links up and matches the head, yet every re-hashed event is named."""
    for n in range(4):
        audit.record(db, "tester", "test.event", "thing", str(n), {"n": n})
    _rewrite_without_the_key(db, dropped)
    report = verify_chain(db)
    assert report.broken_seq == dropped
    assert "hashed without the audit key" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {dropped}: event {dropped} is hashed without the audit key" in (
        result.output
    )
