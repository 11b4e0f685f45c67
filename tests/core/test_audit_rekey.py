"""`audit rekey`: a chain from before the audit key is carried over once, and only if intact."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditEvent, AuditHead, unkeyed_hash, verify_chain
from core.db import transaction, utcnow
from tests.plugins.cli import assert_refused
from tests.support.audit_owner import as_table_owner
from web.store import EXTENSION


def _chain_from_before_the_key(db: Session, count: int) -> None:
    """Events as the service wrote them before the key: plain SHA-256, linked and headed.

    Inserted and the head moved, which the append-only guard allows: it stays in place.
    """
    prev = audit.GENESIS_HASH
    for seq in range(1, count + 1):
        event = AuditEvent(
            seq=seq,
            at=utcnow(),
            actor="tester",
            action="test.event",
            object_type="thing",
            object_id=str(seq),
            details="{}",
            prev_hash=prev,
        )
        event.hash = prev = unkeyed_hash(event)
        db.add(event)
    db.execute(update(AuditHead).values(seq=count, hash=prev))
    db.flush()


def _guard_holds(db: Session) -> bool:
    """Whether the database still refuses to change an event (the triggers came back)."""
    try:
        with db.begin_nested():
            db.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor="x"))
    except DBAPIError as refused:
        return "append-only" in str(refused)
    return False


def test_an_unkeyed_chain_is_named_until_rekeyed_then_verifies(
    db: Session, runner: FlaskCliRunner
) -> None:
    _chain_from_before_the_key(db, 3)
    audit.record(db, "tester", "test.after_upgrade")  # the new code appends keyed events
    before = runner.invoke(args=["audit", "verify"])
    assert before.exit_code == 1
    assert "BROKEN at event 1: event 1 is hashed without the audit key" in before.output
    result = runner.invoke(args=["audit", "rekey"])
    assert result.exit_code == 0, result.output
    assert "rekeyed 4 events" in result.output
    db.expire_all()
    assert verify_chain(db).ok
    assert runner.invoke(args=["audit", "verify"]).output.strip() == "audit trail intact: 5 events"
    assert db.get_one(AuditEvent, 5).action == "audit.rekeyed"
    assert _guard_holds(db)
    again = runner.invoke(args=["audit", "rekey"])
    assert_refused(again, "nothing was changed", "already keyed")


def test_a_broken_unkeyed_chain_is_not_rekeyed(db: Session, runner: FlaskCliRunner) -> None:
    as_table_owner(db)
    _chain_from_before_the_key(db, 3)
    db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone else"))
    db.flush()
    hashes = [e.hash for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    result = runner.invoke(args=["audit", "rekey"])
    assert_refused(result, "nothing was changed: event 2 was altered after it was written")
    db.expire_all()
    assert [e.hash for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))] == hashes


def test_db_upgrade_says_when_the_chain_predates_the_key(
    fresh_app: Flask, fresh_runner: FlaskCliRunner
) -> None:
    assert "audit rekey" not in fresh_runner.invoke(args=["db", "upgrade"]).output
    with transaction(fresh_app.extensions[EXTENSION]) as session:
        _chain_from_before_the_key(session, 2)
    again = fresh_runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, again.output
    assert "the audit chain predates the audit key: run `flask --app wsgi audit rekey`" in (
        again.output
    )
    assert fresh_runner.invoke(args=["audit", "rekey"]).exit_code == 0
    assert "audit rekey" not in fresh_runner.invoke(args=["db", "upgrade"]).output
