"""Issuing a link and using it once: the round's window, one open link per phone.

A new link replaces the ones still open on its phone, three a day at most; a link is consumed
in the transaction that stores what it was for, and only one transaction can win.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import throttle
from core.db import UTCDateTime, table, utcnow
from core.link_tokens import hash_token, new_token
from core.links import Channel, Link, LinkUnavailable
from core.programme import Programme
from core.rounds import open_round
from core.users import StaffUser

DEFAULT_TTL_DAYS = 7
LINKS_PER_PHONE = throttle.Limit(3, timedelta(days=1))  # a lost SMS may be re-sent, not spammed


class OutsideWindow(Exception):
    """The programme's submission window is closed (or no round is set)."""


class TooManyLinks(Exception):
    """This phone has had its share of links today."""


def open_programme(session: Session, now: datetime | None = None) -> Programme:
    """Circular part 5.1(a): nothing is issued or accepted outside the submission window.

    Links belong to the open round (core/rounds.py), not to a round set up for later."""
    programme = open_round(session, now)
    if programme is None:
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
