"""Staff accounts: creation, passwords (Argon2), sign-in with throttling, the pledge."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, passwords, throttle
from core.db import Base, UTCDateTime, utcnow
from core.geography import Area, AreaLevel, resolve_area
from core.passwords import PasswordProblem
from core.roles import AREA_LEVELS, Role
from core.scopes import AreaScoped

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # Argon2 would hash a megabyte happily; nobody types that
LANGUAGES = ("ar", "en", "fr")

# Sign-in throttling: guessing stays slow, yet no stranger can lock an account's owner out.
# Every attempt is counted before its password is checked (atomically, see core/throttle.py),
# so concurrent guesses cannot get more checks than these numbers allow.
# - One account from one address: 5 attempts, then waits of 1, 2, 4, 8, then 15 minutes
#   before each further one. A success clears this count.
PER_PAIR = throttle.Backoff(5, timedelta(minutes=1), timedelta(minutes=15))
# - One address, whatever the accounts (spraying): 50 attempts, then the same waits. A
#   success gives its attempt back, so colleagues behind one office address who sign in
#   well never add up to a wait.
PER_ADDRESS = throttle.Backoff(50, timedelta(minutes=1), timedelta(minutes=15))
# - One account from everywhere: never a lock. Once it has had 20 failures in a day, each
#   address that tries it gets 1 attempt before its waits begin instead of 5; an address
#   that has not failed against it (its owner's) is not slowed at all.
ACCOUNT_WATCH = throttle.Limit(20, timedelta(days=1))
PER_PAIR_WATCHED = throttle.Backoff(1, timedelta(minutes=1), timedelta(minutes=15))

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffUser(AreaScoped, Base):
    """A member of staff who signs in to a console."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    role_value: Mapped[str] = mapped_column("role", String(20), index=True)
    area_code: Mapped[str] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="ar")
    # The phone *take next call* rings (an agent's desk or mobile), E.164; None for most staff.
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    pledge_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped at sign-out: every session cookie issued before it stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def role(self) -> Role:
        return Role(self.role_value)

    @property
    def area(self) -> Area:
        """The area this account sees, rebuilt from its stored codes."""
        code = self.area_code
        if self.locality_code:
            return Area(AreaLevel.LOCALITY, code, self.governorate_code, self.district_code, code)
        if self.district_code:
            return Area(AreaLevel.DISTRICT, code, self.governorate_code, code)
        if self.governorate_code:
            return Area(AreaLevel.GOVERNORATE, code, code)
        return Area(AreaLevel.NATIONAL, code)

    @property
    def needs_pledge(self) -> bool:
        return self.pledge_accepted_at is None


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why."""


class PasswordRefused(AccountError):
    """A password too easy to guess; `reason` says which rule it broke."""

    def __init__(self, reason: PasswordProblem) -> None:
        message = passwords.MESSAGES[reason].format(min=MIN_PASSWORD, max=MAX_PASSWORD)
        super().__init__(message)
        self.reason = reason


class SignInRefused(Exception):
    """Sign-in failed; `retry_at` is set when it was the throttle rather than the password."""

    def __init__(self, retry_at: datetime | None = None) -> None:
        super().__init__("throttled" if retry_at else "invalid credentials")
        self.retry_at = retry_at

    @property
    def throttled(self) -> bool:
        return self.retry_at is not None


class Event(StrEnum):
    """Audit actions about staff accounts."""

    CREATED = "staff.created"
    SIGNED_IN = "staff.signed_in"
    SIGN_IN_FAILED = "staff.sign_in_failed"
    SIGNED_OUT = "staff.signed_out"
    PLEDGE_ACCEPTED = "staff.pledge_accepted"
    LANGUAGE_CHANGED = "staff.language_changed"
    CREDENTIALS_RESET = "staff.credentials_reset"
    PHONE_SET = "staff.phone_set"


def generate_password() -> str:
    """A strong password for bulk-created accounts (about 120 random bits)."""
    return secrets.token_urlsafe(15)


def check_password_rules(password: str, username: str) -> None:
    """Refuse a password an attacker would try early; raises `PasswordRefused` saying why."""
    problem = passwords.problem(password, username, MIN_PASSWORD, MAX_PASSWORD)
    if problem is not None:
        raise PasswordRefused(problem)


def add_user(
    session: Session, username: str, role: Role, area_code: str, password: str, actor: str
) -> StaffUser:
    """Create an account tied to an area of the level its role needs."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError(
            "username must be 3-40 characters: lowercase letters, digits, '.', '_' or '-'"
        )
    check_password_rules(password, username)
    area = _area_for(session, role, area_code)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise AccountError(f"username {username!r} is taken")
    user = StaffUser(
        username=username,
        role_value=role.value,
        area_code=area.code,
        password_hash=_hasher.hash(password),
        language="ar",
        is_active=True,
        session_epoch=0,
    )
    user.place_in(area)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        Event.CREATED,
        "staff_user",
        str(user.id),
        {"role": role.value, "area": area.code},
    )
    return user


def set_phone(session: Session, user: StaffUser, phone: str | None, actor: str) -> None:
    """The phone *take next call* rings for this account (already normalised), or none."""
    user.phone = phone
    audit.record(session, actor, Event.PHONE_SET, "staff_user", str(user.id), {"set": bool(phone)})


def _area_for(session: Session, role: Role, area_code: str) -> Area:
    try:
        area = resolve_area(session, area_code)
    except LookupError:
        raise AccountError(f"unknown area {area_code!r} (load the localities first?)") from None
    if area.level not in AREA_LEVELS[role]:
        levels = " or ".join(sorted(level.value for level in AREA_LEVELS[role]))
        raise AccountError(f"role {role.value} needs a {levels} area, not a {area.level.value}")
    return area


def set_password(session: Session, user: StaffUser, password: str, actor: str) -> None:
    """Replace an account's password (an operator's reset); audited like every account change.

    Every session of the account ends with it: whoever signed in with the old password (the
    reason for a reset, often) is signed out at their next request.
    """
    check_password_rules(password, user.username)
    user.password_hash = _hasher.hash(password)
    user.session_epoch += 1
    audit.record(session, actor, Event.CREDENTIALS_RESET, "staff_user", str(user.id))


def authenticate(session: Session, username: str, password: str, address: str) -> StaffUser:
    """The active account these credentials open; raises `SignInRefused`.

    The attempt is counted (see the limits at the top) before the password is checked; the
    caller must commit even when this raises, so that the count survives.
    """
    user = _check_credentials(session, username, password, address)
    user.last_sign_in_at = utcnow()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(session, user.username, Event.SIGNED_IN, "staff_user", str(user.id))
    return user


def change_own_password(
    session: Session, user: StaffUser, current: str, new: str, address: str
) -> None:
    """A member of staff replaces their own password. The current one is asked for, and
    counted like a sign-in, so a browser left open cannot be used to take the account; every
    session of the account ends (the caller issues this browser a new one)."""
    check_password_rules(new, user.username)
    _check_credentials(session, user.username, current, address)
    set_password(session, user, new, user.username)


def _check_credentials(session: Session, username: str, password: str, address: str) -> StaffUser:
    username = username.strip().lower()[:64]
    retry_at = _count_attempt(session, username, address)
    if retry_at is not None:
        raise SignInRefused(retry_at)
    # A name no account could have is not looked up (PostgreSQL refuses NUL bytes outright).
    user = None
    if USERNAME.fullmatch(username):
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    # Verify even for an unknown name, so the time taken does not tell which names exist.
    verified = _verify(user.password_hash if user else None, password)
    if user is None or not user.is_active or not verified:
        throttle.take(session, f"sign-in:account:{username}", ACCOUNT_WATCH)
        if user is not None:
            audit.record(session, user.username, Event.SIGN_IN_FAILED, "staff_user", str(user.id))
        raise SignInRefused()
    throttle.clear(session, f"sign-in:pair:{username}:{address}")
    throttle.refund(session, f"sign-in:address:{address}")
    return user


def _count_attempt(session: Session, username: str, address: str) -> datetime | None:
    """Count one attempt against the account-and-address and the address, both or neither:
    None when it may go on, else the moment from which it may."""
    watched = throttle.exceeded(session, f"sign-in:account:{username}", ACCOUNT_WATCH)
    limits = (
        (f"sign-in:pair:{username}:{address}", PER_PAIR_WATCHED if watched else PER_PAIR),
        (f"sign-in:address:{address}", PER_ADDRESS),
    )
    savepoint = session.begin_nested()
    for key, backoff in limits:
        retry_at = throttle.attempt(session, key, backoff)
        if retry_at is not None:
            savepoint.rollback()
            return retry_at
    savepoint.commit()
    return None


def _verify(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


def accept_pledge(session: Session, user: StaffUser) -> None:
    """Circular part 6, item 1: the confidentiality pledge, accepted once, on the record."""
    if user.pledge_accepted_at is None:
        user.pledge_accepted_at = utcnow()
        audit.record(session, user.username, Event.PLEDGE_ACCEPTED, "staff_user", str(user.id))


def sign_out(session: Session, user: StaffUser) -> None:
    """End every session of this account (cookies carry the epoch they were issued in)."""
    user.session_epoch += 1
    audit.record(session, user.username, Event.SIGNED_OUT, "staff_user", str(user.id))


def set_language(session: Session, user: StaffUser, language: str) -> None:
    if language not in LANGUAGES:
        raise AccountError(f"language must be one of {', '.join(LANGUAGES)}")
    if user.language != language:
        user.language = language
        audit.record(
            session,
            user.username,
            Event.LANGUAGE_CHANGED,
            "staff_user",
            str(user.id),
            {"language": language},
        )


def user_by_id(session: Session, user_id: int) -> StaffUser | None:
    """The active account with this id (sessions store only the id)."""
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.is_active else None
