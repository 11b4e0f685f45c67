"""The log of SMS messages, sent and received, with their delivery state.

Every message is a row before it is handed to a gateway, so a crash between the two can be
seen and finished; the provider's id is unique, so a retried webhook cannot log one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, and_, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible

logger = logging.getLogger(__name__)


class Direction(StrEnum):
    """Which way a message or call went."""

    INBOUND = "inbound"  # from a citizen to 1766
    OUTBOUND = "outbound"  # from the service to a citizen


class MessageStatus(StrEnum):
    """Where a message is; outbound ones follow the provider's callbacks."""

    PENDING = "pending"  # owed: written, not yet handed to the gateway (the outbox)
    SENDING = "sending"  # claimed by a worker that is handing it to the gateway now
    QUEUED = "queued"  # accepted by the gateway
    SENT = "sent"  # left the gateway for the carrier
    DELIVERED = "delivered"  # the phone confirmed it
    UNDELIVERED = "undelivered"  # the carrier gave up
    FAILED = "failed"  # the gateway refused it
    RECEIVED = "received"  # an inbound message
    SUPPRESSED = "suppressed"  # withheld by STOP or the daily cap (`error_code` says which)


class Message(AreaScoped, Base):
    """One SMS; its text and number are personal data and scoped like any record."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    purpose: Mapped[str] = mapped_column(String(40), default="")  # e.g. form_link, receipt
    status: Mapped[str] = mapped_column(String(12), index=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(12))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    # Counts toward the phone's daily cap (core/sms_policy.py: a notice it did not ask for).
    capped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Which provider took it ("twilio", "http", "console"), and which it must go by (None:
    # the primary of SMS_BACKEND; a name: that one, e.g. the fallback after a refusal).
    gateway: Mapped[str | None] = mapped_column(String(16))
    via: Mapped[str | None] = mapped_column(String(16))
    # The message this one is a new try at (a temporary failure, the fallback provider, the
    # family's second number): one new try per message, so a report applied twice adds none.
    resend_of: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), unique=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the relay last handed this owed message to the queue (core/relay.py); cleared
    # whenever it is owed again (a retry, a released claim), so it is relayed once per turn.
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# The dashboard's acknowledgements sent and delivered, by area (core/dashboard.py, 0009).
# Only acknowledgements handed to the gateway: those the delivery rate is out of (one
# withheld by STOP never was).
NOT_HANDED = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.SUPPRESSED)
_RECEIPTS = and_(
    Message.purpose == "receipt",
    Message.status.not_in([status.value for status in NOT_HANDED]),
)
Index(
    "ix_messages_receipts_area",
    Message.governorate_code,
    Message.district_code,
    Message.locality_code,
    Message.status,
    postgresql_where=_RECEIPTS,
    sqlite_where=_RECEIPTS,
)


# What the relay reads every few hundred milliseconds: owed messages not yet handed on.
_TO_RELAY = and_(Message.status == MessageStatus.PENDING.value, Message.relayed_at.is_(None))
Index(
    "ix_messages_to_relay",
    Message.next_attempt_at,
    postgresql_where=_TO_RELAY,
    sqlite_where=_TO_RELAY,
)


def messages_visible_to(session: Session, viewer: Viewer, limit: int = 100) -> list[Message]:
    """The newest messages of the viewer's area."""
    stmt = select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    return list(session.scalars(visible(stmt, viewer, Message, Permission.VIEW_MESSAGES)))


def message_by_id(session: Session, message_id: int) -> Message | None:
    """One message by our id, or None."""
    return session.get(Message, message_id)


def message_by_provider_sid(session: Session, provider_sid: str) -> Message | None:
    """The message the provider knows by `provider_sid`, or None."""
    return session.scalar(select(Message).where(Message.provider_sid == provider_sid))


# A provider's delivery status and the state it puts a message in. Twilio's "sending" (still at
# Twilio, on its way to the carrier) is our QUEUED: our SENDING means a worker holds the
# message, which the outbox must not be told by a callback. Anything else is ignored.
PROVIDER_STATUS: Mapping[str, MessageStatus] = MappingProxyType(
    {
        "accepted": MessageStatus.QUEUED,
        "queued": MessageStatus.QUEUED,
        "sending": MessageStatus.QUEUED,
        "sent": MessageStatus.SENT,
        "delivered": MessageStatus.DELIVERED,
        "undelivered": MessageStatus.UNDELIVERED,
        "failed": MessageStatus.FAILED,
    }
)

# How far along an outbound message is. A status only ever moves to a higher rank, so
# callbacks arriving late, twice or out of order change nothing; the final three share the top
# rank and therefore never change once reached.
OUTBOUND_RANK: Mapping[str, int] = MappingProxyType(
    {
        MessageStatus.PENDING: 0,
        MessageStatus.SENDING: 1,
        MessageStatus.QUEUED: 2,
        MessageStatus.SENT: 3,
        MessageStatus.DELIVERED: 4,
        MessageStatus.UNDELIVERED: 4,
        MessageStatus.FAILED: 4,
    }
)
_NO_RANK = 99  # a status outside the table (an inbound RECEIVED): no report moves it


def record_status(
    session: Session,
    message_id: int,
    provider_sid: str | None,
    status: str,
    error_code: str | None,
) -> bool:
    """Apply a provider's delivery report to an outbound message; return whether it changed.

    Idempotent and forward-only (see `OUTBOUND_RANK`); an unknown status is ignored, and so is
    a report about another provider message than the one this message is known by (a
    duplicate send must not overwrite the state of the message we know).
    """
    # FOR UPDATE: two reports on one message handled at once must not undo each other.
    message = session.get(Message, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.direction != Direction.OUTBOUND:
        return False
    if not _is_reported_message(session, message, provider_sid):
        return False
    changed = False
    if provider_sid and message.provider_sid is None:
        message.provider_sid = provider_sid
        changed = True
    new = PROVIDER_STATUS.get(status.strip().lower())
    if new is not None and OUTBOUND_RANK[new] > OUTBOUND_RANK.get(message.status, _NO_RANK):
        message.status = new
        message.error_code = error_code or message.error_code
        changed = True
    return changed


def _is_reported_message(session: Session, message: Message, provider_sid: str | None) -> bool:
    """Whether a report naming `provider_sid` may be about `message`."""
    if not provider_sid or message.provider_sid == provider_sid:
        return True
    if message.provider_sid is None and message_by_provider_sid(session, provider_sid) is None:
        return True
    logger.warning("delivery report for message %s names another provider id", message.id)
    return False
