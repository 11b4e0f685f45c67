"""The audit trail: append-only events, each chained to the one before by a keyed hash.

Editing an event breaks its own hash; deleting one leaves a gap in the sequence or breaks
the next event's link; deleting the newest ones leaves the head row pointing past the end;
an event inserted after the newest one, however well forged, lies beyond the head row.
The database also refuses UPDATE and DELETE on the table (triggers in the migration), so
those need an owner's rights and are still detected by `verify_chain`. INSERT cannot be
refused (it is how events are written), which is why the head row is checked both ways.
Each hash is an HMAC under the audit key (`core.audit_key`), which the database never holds:
an owner who deletes events and re-hashes the rest cannot make them verify. One who holds the
key as well is caught by the signed checkpoints kept outside the store
(`core.audit_checkpoints`).
Details never hold personal data: `record` refuses keys that would carry it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.audit_key import AuditKey, current_key
from core.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
# An event whose hash is a plain SHA-256: written before the key (never rekeyed) or by a forger.
UNKEYED = (
    "is hashed without the audit key (rewritten, or a chain from before the key: see `audit rekey`)"
)
SYSTEM = "system"  # the actor of jobs and automatic steps

Scalar = str | int | bool | None
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Keys that would carry a family's or a person's data; details must point to records instead.
_PERSONAL = ("name", "phone", "id_number", "address", "password", "body", "birth", "registry")
_MAX_VALUE = 200


class AuditEvent(Base):
    """One thing someone did, never changed once written."""

    __tablename__ = "audit_events"
    # The trail beside each record (inspection) reads one object's events.
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest event's number and hash: one row, locked while an event is appended."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class PersonalDataInAudit(ValueError):
    """A caller tried to put personal data (or an unsafe shape of data) in an audit event."""


def _canonical_details(details: Mapping[str, Scalar] | None) -> str:
    clean: dict[str, Scalar] = {}
    for key, value in (details or {}).items():
        if not _KEY.fullmatch(key) or any(p in key for p in _PERSONAL):
            raise PersonalDataInAudit(f"audit detail key {key!r} is not allowed")
        if not isinstance(value, str | int | bool | type(None)):
            raise PersonalDataInAudit(f"audit detail {key!r} must be a plain value")
        if isinstance(value, str) and len(value) > _MAX_VALUE:
            raise PersonalDataInAudit(f"audit detail {key!r} is too long")
        clean[key] = value
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _payload(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers: its fields and its predecessor's hash."""
    payload = json.dumps(
        [
            event.seq,
            event.at.isoformat(timespec="microseconds"),
            event.actor,
            event.action,
            event.object_type,
            event.object_id,
            event.details,
            event.prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return payload.encode("utf-8")


def event_hash(event: AuditEvent, key: AuditKey | None = None) -> str:
    """The hash an event must carry: an HMAC of its content under the audit key."""
    return (key or current_key()).mac(_payload(event))


def unkeyed_hash(event: AuditEvent) -> str:
    """The plain SHA-256 that chains written before the audit key carry (see `audit rekey`)."""
    return hashlib.sha256(_payload(event)).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    details: Mapping[str, Scalar] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the work)."""
    canonical = _canonical_details(details)
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    at = utcnow()
    event = AuditEvent(
        seq=head.seq + 1,
        at=at,
        actor=actor[:64],
        action=str(action)[:64],
        object_type=object_type[:40],
        object_id=object_id[:64],
        details=canonical,
        prev_hash=head.hash,
    )
    event.hash = event_hash(event)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """The result of re-checking the chain; `broken_seq` is the first bad event, if any."""

    checked: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


@dataclass(frozen=True)
class _Flaw:
    """The first event that does not fit the chain, as that event alone shows it."""

    at: int  # the seq of the event where the walk stopped
    broken_seq: int
    reason: str


@dataclass(frozen=True)
class _Walk:
    """How far the events chain from the first one."""

    checked: int  # events 1..checked are intact and linked
    last_hash: str  # event `checked`'s hash (GENESIS_HASH when none)
    flaw: _Flaw | None = None


def verify_chain(session: Session, key: AuditKey | None = None) -> ChainReport:
    """Re-derive every hash from the first event; report the first place the chain breaks.

    The head is read before the events and again after them: appends committed meanwhile
    (other processes go on working) move it on, so events up to the first reading must all be
    there, and an event beyond the second was never appended by `record`.
    """
    before = _head(session)
    walk = _walk(session, key or current_key())
    after = _head(session)
    checked, flaw = walk.checked, walk.flaw
    if flaw is not None and (after is None or flaw.at <= after[0]):
        return ChainReport(checked, flaw.broken_seq, flaw.reason)
    if before is None or after is None:
        return ChainReport(checked, checked + 1, "the chain's head record is missing")
    if checked < before[0]:
        return ChainReport(checked, checked + 1, f"events after {checked} were deleted")
    # Every event up to the head is intact; any event after it was inserted.
    beyond = after[0] + 1 if checked > after[0] else (flaw.at if flaw else None)
    if beyond is not None:
        return ChainReport(checked, beyond, f"event {beyond} was inserted after the chain's head")
    for seq, head_hash in sorted({before, after}):
        if seq and seq <= checked and _hash_of(session, seq) != head_hash:
            return ChainReport(checked, seq, f"event {seq} is not the one the head recorded")
    return ChainReport(checked)


def _head(session: Session) -> tuple[int, str] | None:
    """The head row as committed now (not the session's cached copy)."""
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    return None if row is None else (row.seq, row.hash)


def _hash_of(session: Session, seq: int) -> str | None:
    return session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))


def _walk(session: Session, key: AuditKey) -> _Walk:
    """Follow the events in order from the first, stopping at the first one that does not fit."""
    expected_seq, prev = 1, GENESIS_HASH
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    events = session.scalars(stmt)
    try:
        for event in events:
            problem = _problem(event, expected_seq, prev, key)
            if problem:
                return _Walk(expected_seq - 1, prev, _Flaw(event.seq, *problem))
            expected_seq, prev = event.seq + 1, event.hash
    finally:
        events.close()  # a server-side cursor on PostgreSQL: close it even when we stop early
    return _Walk(expected_seq - 1, prev)


def _problem(
    event: AuditEvent, expected_seq: int, prev: str, key: AuditKey
) -> tuple[int, str] | None:
    if event.seq < expected_seq:  # only before the first: seq is the primary key
        return event.seq, f"event {event.seq} was inserted before the chain's first event"
    if event.seq != expected_seq:
        return expected_seq, f"event {expected_seq} is missing (deleted)"
    if event.prev_hash != prev:
        return event.seq, f"event {event.seq} does not follow event {event.seq - 1}"
    if event_hash(event, key) != event.hash:
        if unkeyed_hash(event) == event.hash:
            return event.seq, f"event {event.seq} {UNKEYED}"
        return event.seq, f"event {event.seq} was altered after it was written"
    return None


def events_for(session: Session, object_type: str, object_id: str) -> list[AuditEvent]:
    """The trail of one object, oldest first (the inspector's view beside a record)."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.seq)
    )
    return list(session.scalars(stmt))
