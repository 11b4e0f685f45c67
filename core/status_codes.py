"""One-time codes that open an application's status on the web page `/status`.

A reference is printed on a receipt and said over the phone, so it is no secret: the status
opens only with a six-digit code sent by SMS to the phone on the application. The store keeps
a keyed hash of each code (HMAC under SECRET_KEY, bound to the application), never the code:
a million possible codes would fall to a plain hash at once. A code works once, for ten
minutes, and only the newest one an application has works; an application gets at most three
a day (Beirut's day), and the SMS that carried one forgets it once the provider has it
(core/notifications.py).

Whoever asks learns nothing about whether a reference exists until the code is right: an
unknown reference is counted, looked up and answered exactly as a known one whose SMS was
withheld. Requests and misses are throttled per client address and per reference.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, throttle
from core.applications import Application, application_by_reference
from core.clock import beirut_day
from core.db import Base, UTCDateTime, utcnow
from core.digits import to_ascii_digits
from core.notifications import STATUS_CODE_PURPOSE, Sms, owe_text
from core.opt_outs import has_stopped
from core.sms_policy import Occasion

PURPOSE = STATUS_CODE_PURPOSE  # its SMS forgets the code once the provider has it
DIGITS = 6
LIFETIME = timedelta(minutes=10)
PER_DAY = 3  # codes one application may be sent in one Beirut day
KEEP = timedelta(days=2)  # past any code's life and its Beirut day's count: housekeeping drops it
MAX_TYPED = 64  # characters of a typed code or reference looked at; longer is not one
# Mobile operators put many phones behind one address: the address limits are generous, the
# reference's tight (a family asks a few times a day; a guesser many times).
ASKS_PER_ADDRESS = throttle.Limit(30, timedelta(minutes=10))
ASKS_PER_REFERENCE = throttle.Limit(6, timedelta(hours=1))
MISSES_PER_ADDRESS = throttle.Limit(30, timedelta(minutes=10))
MISSES_PER_REFERENCE = throttle.Limit(5, timedelta(hours=1))
VIEWER = "citizen"  # the audit trail's actor for a family that opened its own status
NOBODY = 0  # the application id looked for when a reference is unknown (no row has it)
NO_PHONE = "+0"  # and the phone whose STOP is looked up (no number is written so)
_SEPARATORS = re.compile(r"[\s\-]+")
_CODE = re.compile(r"[0-9]{6}", re.ASCII)

WriteCode = Callable[[str, str], str]  # (code, language) -> the SMS's text (texts/)


class Throttled(Exception):
    """Too many requests or wrong codes from this address or for this reference: wait."""


class StatusCode(Base):
    """One code sent for one application: usable once, until `expires_at`, while newest."""

    __tablename__ = "status_codes"
    __table_args__ = (Index("ix_status_codes_application_day", "application_id", "issued_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date] = mapped_column(Date)  # Beirut's day: three a day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def parse_code(text: str) -> str | None:
    """The six ASCII digits of a typed code (any digits, spaces, dashes, marks), or None."""
    if len(text) > MAX_TYPED:
        return None
    plain = _SEPARATORS.sub("", to_ascii_digits(text))
    return plain if _CODE.fullmatch(plain) else None


def code_hash(key: str, application_id: int, code: str) -> str:
    """HMAC-SHA256 under SECRET_KEY, in a domain of its own, bound to the application."""
    message = f"1766 status code\0{application_id}\0{code}".encode()
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def _take_both(session: Session, keys: tuple[str, str], limits: tuple[throttle.Limit, ...]) -> None:
    """Count the attempt against the address and the reference alike, then refuse if either
    is spent (both counted first, so the counts never depend on which one refused)."""
    within = [throttle.take(session, key, limit) for key, limit in zip(keys, limits, strict=True)]
    if not all(within):
        raise Throttled()


def _keys(kind: str, address: str, reference: str) -> tuple[str, str]:
    return f"status:{kind}:address:{address}", f"status:{kind}:reference:{reference}"


def count_ask(session: Session, address: str) -> None:
    """Count a request whose reference is not even well formed, against the address only."""
    if not throttle.take(session, _keys("ask", address, "")[0], ASKS_PER_ADDRESS):
        raise Throttled()


def send_code(
    session: Session, reference: str, address: str, key: str, write: WriteCode
) -> tuple[int, ...]:
    """A fresh code by SMS to the phone on the application `reference` names, if any.

    Returns the ids of the SMS to dispatch after the commit (none for an unknown reference, a
    fourth code today, or a phone that sent STOP); the caller answers all of these alike, and
    an unknown reference costs the same look-ups and the same text as a known one.
    Raises `Throttled`.
    """
    _take_both(session, _keys("ask", address, reference), (ASKS_PER_ADDRESS, ASKS_PER_REFERENCE))
    application = application_by_reference(session, reference)
    now = utcnow()
    found = application.id if application else NOBODY
    issued = _issued_on(session, found, beirut_day(now))
    code = new_code()
    digest = code_hash(key, found, code)
    body = write(code, application.language if application else "ar")
    if application is None or issued >= PER_DAY:
        has_stopped(session, NO_PHONE)  # the look-up owing the SMS would have made
        return ()
    session.add(
        StatusCode(
            application_id=application.id,
            code_hash=digest,
            issued_on=beirut_day(now),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    sms = Sms(application.phone, body, application.language, PURPOSE, application.area())
    return owe_text(session, sms, Occasion.ANSWER).to_dispatch


def _issued_on(session: Session, application_id: int, day: date) -> int:
    stmt = select(func.count(StatusCode.id)).where(
        StatusCode.application_id == application_id, StatusCode.issued_on == day
    )
    return int(session.scalar(stmt) or 0)


def _newest(session: Session, application_id: int) -> StatusCode | None:
    stmt = (
        select(StatusCode)
        .where(StatusCode.application_id == application_id)
        .order_by(StatusCode.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def open_with_code(
    session: Session, reference: str, code: str | None, address: str, key: str
) -> Application | None:
    """The application, if `code` is its newest code, unused and unexpired; it is then used up
    and the view audited. None for any miss, the same for an unknown reference. A miss counts
    against the address and the reference; a hit does not. Raises `Throttled`."""
    keys = _keys("miss", address, reference)
    _take_both(session, keys, (MISSES_PER_ADDRESS, MISSES_PER_REFERENCE))
    application = application_by_reference(session, reference)
    newest = _newest(session, application.id if application else NOBODY)
    typed = code_hash(key, application.id if application else NOBODY, code or "")
    now = utcnow()
    if (
        application is None
        or newest is None
        or code is None
        or newest.used_at is not None
        or newest.expires_at <= now
        or not hmac.compare_digest(newest.code_hash, typed)
        or not _use(session, newest, now)
    ):
        return None
    for counted in keys:
        throttle.refund(session, counted)
    audit.record(session, VIEWER, "status.viewed", "application", str(application.id))
    return application


def _use(session: Session, code: StatusCode, now: datetime) -> bool:
    """Mark the code used, once: of two requests racing with it, one wins."""
    result = session.execute(
        update(StatusCode)
        .where(StatusCode.id == code.id, StatusCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def purge_older_than(session: Session, age: timedelta = KEEP) -> int:
    """Drop codes sent more than `age` ago (dead, and past their day's count); how many went."""
    result = session.execute(delete(StatusCode).where(StatusCode.created_at < utcnow() - age))
    return int(getattr(result, "rowcount", 0) or 0)
