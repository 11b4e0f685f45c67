"""Carrying an existing chain over to the audit key, once, with the table owner's rights.

A chain written before the audit key existed carries plain SHA-256 hashes; events appended
after the upgrade and before this runs already carry the key's HMAC, linked to them. `rekey`
checks the whole chain under those rules (or under an old key being retired), and only if it
is intact re-hashes every event under the key. From then on `verify_chain` accepts keyed
hashes only, so an owner who later re-hashes the chain without the key is named.

This is a trust-on-first-use step: run it right after the upgrade, and take a checkpoint at
once (`audit checkpoint`); the checkpoints, not the store, are what later proves the carried
over events unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.audit import GENESIS_HASH, AuditEvent, AuditHead, event_hash, unkeyed_hash
from core.audit_key import AuditKey

_BATCH = 2000
INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE
OWNER_ONLY = "it needs the audit table owner's rights: run it with the owner's DATABASE_URL"


class RekeyRefused(ValueError):
    """The chain cannot be carried over; the message names the event and why."""


@dataclass(frozen=True)
class Rekeyed:
    """What `rekey` did: how many events it re-hashed."""

    events: int


@dataclass
class _Cursor:
    """Where the two walks (old hashes checked, new ones written) have got to."""

    seq: int = 0
    old_prev: str = GENESIS_HASH
    new_prev: str = GENESIS_HASH
    keyed_seen: bool = False


def predates_the_key(session: Session) -> bool:
    """Whether the chain starts with a plain SHA-256 event: a store `rekey` has not carried over."""
    first = session.get(AuditEvent, 1)
    return first is not None and first.hash == unkeyed_hash(first)


def rekey(session: Session, key: AuditKey, old: AuditKey | None = None) -> Rekeyed:
    """Check the chain under the old rule, then re-hash every event under `key`."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    _set_aside_guard(session)  # first: a role without the owner's rights learns it at once
    done = _carry_all(session, head, key, old)
    _restore_guard(session)  # on any refusal the transaction rolls back, guard and all
    session.flush()
    return done


def _carry_all(session: Session, head: AuditHead, key: AuditKey, old: AuditKey | None) -> Rekeyed:
    first = session.get(AuditEvent, 1)
    if first is not None and first.hash == event_hash(first, key):
        raise RekeyRefused("the chain is already keyed with this key: nothing to carry over")
    cursor = _Cursor()
    while batch := _next_batch(session, cursor.seq):
        for event in batch:
            session.expunge(event)  # written as one bulk UPDATE, not by the unit of work
        session.execute(update(AuditEvent), [_carry(event, cursor, key, old) for event in batch])
    if (cursor.seq, cursor.old_prev) != (head.seq, head.hash):
        raise RekeyRefused(f"event {cursor.seq} is not the one the head recorded ({head.seq})")
    head.hash = cursor.new_prev
    return Rekeyed(cursor.seq)


def _next_batch(session: Session, after: int) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
    return list(session.scalars(stmt.limit(_BATCH)))


def _carry(
    event: AuditEvent, cursor: _Cursor, key: AuditKey, old: AuditKey | None
) -> dict[str, object]:
    """The event's new hashes, once it is shown to belong to the old chain."""
    if event.seq != cursor.seq + 1:
        raise RekeyRefused(f"event {cursor.seq + 1} is missing")
    if event.prev_hash != cursor.old_prev:
        raise RekeyRefused(f"event {event.seq} does not follow event {cursor.seq}")
    keyed = event.hash == event_hash(event, key)
    old_hash = unkeyed_hash(event) if old is None else event_hash(event, old)
    if not keyed and (cursor.keyed_seen or event.hash != old_hash):
        raise RekeyRefused(f"event {event.seq} was altered after it was written")
    cursor.keyed_seen = cursor.keyed_seen or keyed
    cursor.seq, cursor.old_prev = event.seq, event.hash
    event.prev_hash = cursor.new_prev
    cursor.new_prev = event_hash(event, key)
    return {"seq": event.seq, "prev_hash": event.prev_hash, "hash": cursor.new_prev}


def _set_aside_guard(session: Session) -> None:
    """Lift the append-only triggers inside this transaction only (the owner's right)."""
    if session.get_bind().dialect.name == "postgresql":
        try:
            session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                raise RekeyRefused(OWNER_ONLY) from None
            raise
        return
    rows = session.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": "audit_events"},
    ).all()
    session.info["audit_guard"] = [sql for _, sql in rows]
    for name, _ in rows:
        session.execute(text(f'DROP TRIGGER "{name}"'))


def _restore_guard(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        return
    for sql in session.info.pop("audit_guard", []):
        session.execute(text(sql))
