"""One-time form links: issued by a municipality, bound to a phone, used exactly once.

Circular part 5.1(d): the focal point, the mukhtar or a volunteer sends the citizen a link to
fill the form. Only a hash of the token is stored; the link is consumed in the transaction
that commits the application. An assisted entry (the focal point fills the form during a
call) is the same object with no SMS and no citizen token.

This module holds the stored link, its state and who reads it; `core.link_lifecycle` issues
and consumes links, `core.link_tokens` makes, derives and looks up their tokens.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, and_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.household import PAGES
from core.messages import Message, MessageStatus
from core.programme import beirut_day_of
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible
from core.users import StaffUser


class Channel(StrEnum):
    """How a form reaches the store."""

    SMS_LINK = "sms_link"  # the citizen fills it from a one-time link
    ASSISTED = "assisted"  # a focal point, mukhtar or volunteer fills it during a call
    HOTLINE = "hotline"  # a one-time link the citizen asked 1766 for (IVR or SMS)
    CORRECTION = "correction"  # a one-time link to propose corrections to an application


class LinkState(StrEnum):
    """What the console shows for a link."""

    SENT = "sent"  # the SMS was handed to the gateway (or is about to be)
    DELIVERED = "delivered"  # the phone confirmed the SMS
    OPENED = "opened"  # the citizen opened the form
    USED = "used"  # the application was submitted
    EXPIRED = "expired"  # past its expiry, or replaced by a newer link
    FAILED = "failed"  # the SMS could not be delivered


class Link(AreaScoped, Base):
    """A form in progress: its owner, its pages so far, and whether it has been used."""

    __tablename__ = "links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # With SECRET_KEY, derives the token again when its SMS is sent (see `derive_token`);
    # None for links whose token was never texted from the store (assisted, older links).
    token_salt: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(12))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    # None for a link the citizen asked the hotline for: no municipality sent it.
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # The application a correction link corrects (None for form links). No foreign key:
    # applications already point at links, and a cycle of keys complicates every migration.
    application_id: Mapped[int | None] = mapped_column(Integer)
    draft: Mapped[str] = mapped_column(Text, default="{}")  # JSON: page -> cleaned data
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Its Beirut day, always written (nullable only so that migration 0009 could add it to a
    # SQLite store without rebuilding the table).
    created_on: Mapped[date | None] = mapped_column(Date, default=beirut_day_of("created_at"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the first page was saved: the form was started (the dashboard counts these).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def pages(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(self.draft or "{}")
        return data

    def next_page(self) -> str | None:
        """The first page not yet completed (None when all four are)."""
        done = self.pages()
        return next((page for page in PAGES if page not in done), None)

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


# The dashboard's counts (core/dashboard.py, migration 0009), each an index-only scan of a
# small index (equal keys share one entry): links texted by area and day, opened and used by
# area, forms started by area.
_TEXTED = Link.channel.in_([Channel.SMS_LINK.value, Channel.HOTLINE.value])
_AREA = (Link.governorate_code, Link.district_code, Link.locality_code)


def _partial_index(name: str, *columns: Any, where: Any) -> Index:
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


_partial_index("ix_links_texted_area_day", *_AREA, Link.created_on, where=_TEXTED)
_partial_index("ix_links_texted_day", Link.created_on, where=_TEXTED)
_partial_index("ix_links_opened_area", *_AREA, where=and_(_TEXTED, Link.opened_at.is_not(None)))
_partial_index("ix_links_used_area", *_AREA, where=and_(_TEXTED, Link.used_at.is_not(None)))
_partial_index(
    "ix_links_started_area",
    *_AREA,
    where=and_(Link.channel != Channel.CORRECTION.value, Link.started_at.is_not(None)),
)


class LinkUnavailable(LookupError):
    """Unknown, expired, revoked or used: deliberately one error, so a guess learns nothing."""


def usable(link: Link) -> Link:
    if not link.is_usable():
        raise LinkUnavailable()
    return link


def mark_opened(link: Link) -> None:
    if link.opened_at is None:
        link.opened_at = utcnow()


def save_page(link: Link, page: str, data: dict[str, Any]) -> None:
    """Keep a completed page on the server, so the citizen can close the browser and resume.

    The first page saved marks the form started (`started_at`), once.
    """
    if link.started_at is None:
        link.started_at = utcnow()
    pages = link.pages()
    pages[page] = data
    link.draft = json.dumps(pages, ensure_ascii=False, sort_keys=True)


def link_state(link: Link, message: Message | None, now: datetime | None = None) -> LinkState:
    """Used beats everything; then expiry; then what the citizen or the phone did."""
    if link.used_at is not None:
        return LinkState.USED
    if not link.is_usable(now):
        return LinkState.EXPIRED
    if link.opened_at is not None:
        return LinkState.OPENED
    if message is not None and message.status == MessageStatus.DELIVERED:
        return LinkState.DELIVERED
    if message is not None and message.status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
        return LinkState.FAILED
    return LinkState.SENT


def links_visible_to(
    session: Session, viewer: Viewer, limit: int = 50
) -> list[tuple[Link, Message | None]]:
    """The newest links of the viewer's municipality, with their SMS for the delivery state."""
    stmt = (
        select(Link, Message)
        .outerjoin(Message, Message.id == Link.message_id)
        .where(Link.channel == Channel.SMS_LINK)
        .order_by(Link.created_at.desc(), Link.id.desc())
        .limit(limit)
    )
    rows = session.execute(visible(stmt, viewer, Link, Permission.SEND_LINKS)).all()
    return [(link, message) for link, message in rows]


def assisted_draft(session: Session, user: StaffUser, link_id: int) -> Link:
    """An assisted form in progress, only for the staff member who started it."""
    link = session.get(Link, link_id)
    if link is None or link.channel != Channel.ASSISTED or link.sender_id != user.id:
        raise LinkUnavailable()
    return usable(link)
