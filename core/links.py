"""One-time form links: issued by a municipality, bound to a phone, used exactly once.

Circular part 5.1(d): the focal point, the mukhtar or a volunteer sends the citizen a link to
fill the form. Only a hash of the token is stored; the link is consumed in the transaction
that commits the application. An assisted entry (the focal point fills the form during a
call) is the same object with no SMS and no citizen token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Update,
    and_,
    bindparam,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from core import throttle
from core.db import Base, UTCDateTime, table, utcnow
from core.household import PAGES
from core.messages import Message, MessageStatus
from core.programme import Programme, beirut_day_of, current_programme
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible
from core.users import StaffUser

TOKEN_BYTES = 18  # 144 bits
TOKEN_LENGTH = 24  # characters of a token in a URL (base64url of TOKEN_BYTES)
# What a stored SMS holds where its link's token goes; the token is put in at send time.
_LINK_IN_STORE = re.compile(r"<link (\d+)>")
DEFAULT_TTL_DAYS = 7
LINKS_PER_PHONE = throttle.Limit(3, timedelta(days=1))  # a lost SMS may be re-sent, not spammed
GUESSES_PER_ADDRESS = throttle.Limit(30, timedelta(minutes=10))


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


class OutsideWindow(Exception):
    """The programme's submission window is closed (or no round is set)."""


class TooManyLinks(Exception):
    """This phone has had its share of links today."""


class TooManyGuesses(Exception):
    """This address has tried too many unknown tokens; it must wait."""


class LinkTokenLost(Exception):
    """A stored SMS names a link whose token can no longer be derived (SECRET_KEY changed)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def derive_token(key: str, salt: str) -> str:
    """The link's token: HMAC-SHA256 of its salt under SECRET_KEY, cut to 144 bits.

    The store keeps the salt and the token's hash, never the token: a copy of the database or
    of a backup opens no form. The send job derives the same token again, so a retried or
    reconciled send carries exactly the text the first attempt carried.
    """
    digest = hmac.new(key.encode("utf-8"), b"1766 link token\0" + salt.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()[:TOKEN_BYTES]).decode("ascii")


def new_token(key: str | None) -> tuple[str, str | None]:
    """A fresh token and its salt: derived from SECRET_KEY when given, else random, unsalted."""
    if key is None:
        return secrets.token_urlsafe(TOKEN_BYTES), None
    salt = secrets.token_hex(16)
    return derive_token(key, salt), salt


def stored_url(public_base_url: str, link: Link) -> str:
    """The link's URL as a stored SMS holds it: its id where the token will go."""
    return f"{public_base_url}/f/<link {link.id}>"


def with_tokens(session: Session, body: str, key: str) -> str:
    """A stored SMS as it is sent: each `<link N>` replaced by link N's token.

    Raises `LinkTokenLost` when a token cannot be derived again (the link is unknown or
    unsalted, or SECRET_KEY changed since it was issued): sending it would send a dead link.
    """

    def token(match: re.Match[str]) -> str:
        link = session.get(Link, int(match.group(1)))
        if link is None or link.token_salt is None:
            raise LinkTokenLost()
        found = derive_token(key, link.token_salt)
        if not hmac.compare_digest(hash_token(found), link.token_hash):
            raise LinkTokenLost()
        return found

    return _LINK_IN_STORE.sub(token, body)


def as_sent_length(body: str) -> str:
    """A stand-in of the sent text, as long, to count its segments at rest."""
    return _LINK_IN_STORE.sub("x" * TOKEN_LENGTH, body)


def open_programme(session: Session, now: datetime | None = None) -> Programme:
    """Circular part 5.1(a): nothing is issued or accepted outside the submission window."""
    programme = current_programme(session)
    if programme is None or not programme.is_open(now):
        raise OutsideWindow()
    return programme


def issue_link(
    session: Session,
    sender: StaffUser | None,
    phone: str | None,
    language: str,
    channel: Channel = Channel.SMS_LINK,
    ttl_days: int = DEFAULT_TTL_DAYS,
    *,
    token_key: str | None = None,
) -> tuple[Link, str]:
    """A new link and its token (shown once: only the hash is kept).

    With no `sender` the citizen asked the hotline: the link has no municipality, and the
    application takes its area from the town the family lives in. A link to be texted is
    given `token_key` (SECRET_KEY), so that its SMS can be stored without the token.
    """
    programme = open_programme(session)
    now = utcnow()
    if phone is not None:
        _one_active_link_per_phone(session, phone, now)
    token, salt = new_token(token_key)
    link = Link(
        token_hash=hash_token(token),
        token_salt=salt,
        channel=channel,
        programme_id=programme.id,
        sender_id=sender.id if sender else None,
        phone=phone,
        language=language,
        draft="{}",
        created_at=now,
        expires_at=min(programme.closes_at, now + timedelta(days=ttl_days)),
    )
    if sender is not None:
        link.place_in(sender.area)
    session.add(link)
    session.flush()
    return link, token


def one_active_link_per_phone(session: Session, phone: str, now: datetime) -> None:
    """Three links a day to a phone, and a new one replaces the ones still open."""
    _one_active_link_per_phone(session, phone, now)


def _one_active_link_per_phone(session: Session, phone: str, now: datetime) -> None:
    key = f"links:phone:{phone}"
    if not throttle.take(session, key, LINKS_PER_PHONE, now):
        raise TooManyLinks()
    session.execute(
        update(Link)
        .where(
            Link.phone == phone,
            Link.used_at.is_(None),
            Link.revoked_at.is_(None),
            Link.expires_at > now,
        )
        .values(revoked_at=now)
    )


_BY_TOKEN = select(Link).where(Link.token_hash == bindparam("token_hash"))


def link_for_token(session: Session, token: str, address: str) -> Link:
    """The link a token opens; raises `LinkUnavailable` or `TooManyGuesses`.

    Only misses are counted and only misses are throttled: mobile operators put many phones
    behind one address, and a guesser next to them must not lock out citizens holding real
    links. A throttled address still gets nothing for its guesses.
    """
    link = None
    if 16 <= len(token) <= 64:
        link = session.scalar(_BY_TOKEN, {"token_hash": hash_token(token)})
    if link is not None:
        return link
    key = f"links:guess:{address}"
    if not throttle.take(session, key, GUESSES_PER_ADDRESS):
        raise TooManyGuesses()
    raise LinkUnavailable()


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


def _consume_statement() -> Update:
    """Built once: this runs for every submission, and building it costs more than running it."""
    links, programmes = table(Link), table(Programme)
    now = bindparam("now", type_=UTCDateTime())
    window_open = (
        select(programmes.c.id)
        .where(
            programmes.c.id == links.c.programme_id,
            programmes.c.opens_at <= now,
            programmes.c.closes_at > now,
        )
        .exists()
    )
    return (
        update(links)
        .where(
            links.c.id == bindparam("link_id"),
            links.c.used_at.is_(None),
            links.c.revoked_at.is_(None),
            links.c.expires_at > now,
            window_open,
        )
        .values(used_at=now, draft="{}")
    )


_CONSUME = _consume_statement()


def consume(session: Session, link: Link, now: datetime | None = None) -> None:
    """Mark the link used, in the caller's transaction; only one transaction can win.

    One statement checks everything a submission needs of its link: unused, not revoked,
    not expired, and its round's window open. The draft is emptied: from now on the
    family's data live in the application alone. Raises `OutsideWindow` or `LinkUnavailable`.
    """
    now = now or utcnow()
    # Core on the session's connection (the statement loads nothing; see core/submissions.py).
    result = session.connection().execute(_CONSUME, {"link_id": link.id, "now": now})
    if getattr(result, "rowcount", 0):
        set_committed_value(link, "used_at", now)
        set_committed_value(link, "draft", "{}")
        return
    programme = session.get(Programme, link.programme_id, populate_existing=True)
    if programme is None or not programme.is_open(now):
        raise OutsideWindow()
    raise LinkUnavailable()


def consume_correction_link(session: Session, link: Link, now: datetime | None = None) -> None:
    """Like `consume`, without the round's window: corrections come after it has closed."""
    now = now or utcnow()
    result = session.execute(
        update(Link)
        .where(
            Link.id == link.id,
            Link.channel == Channel.CORRECTION,
            Link.used_at.is_(None),
            Link.revoked_at.is_(None),
            Link.expires_at > now,
        )
        .values(used_at=now, draft="{}")
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise LinkUnavailable()
    set_committed_value(link, "used_at", now)


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
