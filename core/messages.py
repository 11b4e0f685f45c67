"""The log of SMS messages, sent and received, with their delivery state.

Every message is a row before it is handed to a gateway, so a crash between the two can be
seen and finished; the provider's id is unique, so a retried webhook cannot log one twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible


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
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def messages_visible_to(session: Session, viewer: Viewer, limit: int = 100) -> list[Message]:
    """The newest messages of the viewer's area."""
    stmt = select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    return list(session.scalars(visible(stmt, viewer, Message, Permission.VIEW_MESSAGES)))
