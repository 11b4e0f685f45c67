"""Inbound SMS not yet decided: the store's half of the inbound buffer.

The webhook hands each raw SMS to a Redis Stream (`sms/buffer.py`); when Redis cannot take it,
when Twilio calls the fallback URL, and when `sms reconcile` finds a message the buffer lost,
the raw message is written here instead. Consumers (`sms/consumer.py`) drain both. A row lives
only until its message is decided: the decided message is in `messages` (its MessageSid is
unique there), so this table holds no personal data for longer than the backlog lasts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.messages import Direction, Message

MAX_BODY = 1600  # Twilio's longest concatenated SMS; anything longer is cut, not refused
SID_LENGTH = 64  # messages.provider_sid


@dataclass(frozen=True)
class RawSms:
    """One SMS as the provider handed it over, undecided: nothing here has been read yet."""

    sid: str  # the provider's MessageSid: the idempotency key all the way to `messages`
    sender: str  # `From`, as sent
    recipient: str  # `To`, as sent
    body: str
    received_at: datetime

    def as_fields(self) -> dict[str, str]:
        """The flat form the Redis Stream keeps (every value a string)."""
        return {
            "sid": self.sid,
            "from": self.sender,
            "to": self.recipient,
            "body": self.body,
            "at": self.received_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> RawSms:
        return cls(
            sid=fields["sid"],
            sender=fields.get("from", ""),
            recipient=fields.get("to", ""),
            body=fields.get("body", ""),
            received_at=datetime.fromisoformat(fields["at"]),
        )


class PendingSms(Base):
    """A raw inbound SMS kept by the store until a consumer decides it."""

    __tablename__ = "pending_sms"

    sid: Mapped[str] = mapped_column(String(SID_LENGTH), primary_key=True)
    sender: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12))  # fallback, no_redis, reconcile, inline
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def raw(self) -> RawSms:
        return RawSms(self.sid, self.sender, self.recipient, self.body, self.received_at)


def keep(session: Session, raw: RawSms, source: str) -> bool:
    """Keep `raw` until it is decided; False when its MessageSid is pending already.

    A MessageSid already decided is not checked here (that costs a read): the consumer skips
    it, since `messages.provider_sid` is unique. The caller commits.
    """
    return keep_all(session, [raw], source) == 1


def keep_all(session: Session, raws: Sequence[RawSms], source: str, chunk: int = 1000) -> int:
    """Keep each of `raws` as `keep` does, in one statement per `chunk`; how many were new."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stored_at = utcnow()
    kept = 0
    for start in range(0, len(raws), chunk):
        rows = [_row(raw, source, stored_at) for raw in raws[start : start + chunk]]
        stmt = insert(PendingSms).values(rows).on_conflict_do_nothing()
        # RETURNING, not rowcount: PostgreSQL's driver reported -1 for this multi-row INSERT
        kept += len(session.execute(stmt.returning(PendingSms.sid)).all())
    return kept


def _row(raw: RawSms, source: str, stored_at: datetime) -> dict[str, object]:
    return {
        "sid": raw.sid[:SID_LENGTH],
        "sender": raw.sender[:32],
        "recipient": raw.recipient[:32],
        "body": raw.body[:MAX_BODY],
        "source": source,
        "received_at": raw.received_at,
        "stored_at": stored_at,
    }


def pending(session: Session, limit: int) -> list[PendingSms]:
    """The oldest undecided messages; on PostgreSQL rows another consumer holds are skipped."""
    stmt = select(PendingSms).order_by(PendingSms.received_at, PendingSms.sid).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def forget(session: Session, sids: Iterable[str]) -> None:
    """The messages are decided (their rows are in `messages`): nothing left to keep."""
    sids = list(sids)
    if sids:
        session.execute(delete(PendingSms).where(PendingSms.sid.in_(sids)))


def decided(session: Session, sids: Sequence[str]) -> set[str]:
    """Those of `sids` already decided: an inbound message with that MessageSid is logged."""
    if not sids:
        return set()
    stmt = select(Message.provider_sid).where(
        Message.provider_sid.in_(list(sids)), Message.direction == Direction.INBOUND
    )
    return {sid for sid in session.scalars(stmt) if sid}


def known(session: Session, sids: Sequence[str]) -> set[str]:
    """Those of `sids` the store has: decided, or waiting here (what `sms reconcile` skips)."""
    waiting = set(session.scalars(select(PendingSms.sid).where(PendingSms.sid.in_(list(sids)))))
    return decided(session, sids) | waiting


def backlog(session: Session) -> tuple[int, datetime | None]:
    """How many messages wait here, and when the oldest of them was received."""
    from sqlalchemy import func

    count, oldest = session.execute(select(func.count(), func.min(PendingSms.received_at))).one()
    return int(count or 0), oldest
