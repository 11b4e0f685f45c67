"""Set-password links: issued by an admin (or an approved account request), used once.

Decisions:
- A reset link works for 30 minutes (`RESET_LIFETIME`): long enough to read an SMS and type a
  password, short enough that a forwarded or overlooked SMS is soon worth nothing. The first
  link of a new account works for 24 hours (`FIRST_LIFETIME`): its owner may not be at a
  desk when the account is made.
- A new link ends every earlier unused link of the account, so only the latest one works.
- Using a link sets the password with the usual rules and ends every session of the account
  (whoever held the old password is out); it is then spent.
- The link goes by SMS to the account's phone (an answer to the admin's action on the
  account's behalf: STOP applies, the daily cap does not), or is shown once to whoever issued
  it when the account has no phone or they ask to see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core import audit, throttle
from core.db import utcnow
from core.notifications import Owing, Sms, may_text, owe_text
from core.reset_tokens import PasswordReset, hash_token, new_token, stored_url
from core.sayings import Compose, SetPasswordLink
from core.sms_policy import Occasion, Withheld
from core.users import StaffUser, set_password

RESET_LIFETIME = timedelta(minutes=30)
FIRST_LIFETIME = timedelta(hours=24)
GUESSES_PER_ADDRESS = throttle.Limit(30, timedelta(minutes=10))
ISSUED = "staff.set_password_link"  # audit: a link was issued (how it was delivered)
USED = "staff.password_set_by_link"


class ResetProblem(StrEnum):
    """Why a set-password link does not open."""

    UNKNOWN = "unknown"  # no such link (mistyped, or never issued)
    USED = "used"  # it set a password already, or a newer link replaced it
    EXPIRED = "expired"  # past its lifetime
    THROTTLED = "throttled"  # this address guessed too many links


class ResetUnavailable(Exception):
    def __init__(self, problem: ResetProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class SmsRefused(Exception):
    """The account's phone may not be texted now (it sent STOP): show the link instead."""

    def __init__(self, reason: Withheld) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """How a link left: `shown` holds the URL to show once, else `owing` is its SMS."""

    reset: PasswordReset
    shown: str | None = None
    owing: Owing | None = None

    @property
    def to_dispatch(self) -> tuple[int, ...]:
        return self.owing.to_dispatch if self.owing else ()


@dataclass(frozen=True)
class Sender:
    """What delivering a link needs from the process: its keys, its address, its words."""

    token_key: str
    public_base_url: str
    compose: Compose


def issue_link(
    session: Session,
    user: StaffUser,
    actor: str,
    sender: Sender,
    show: bool = False,
    lifetime: timedelta = RESET_LIFETIME,
) -> Delivery:
    """A new set-password link for `user`: by SMS to its phone, or shown (no phone, or asked).

    Raises `SmsRefused` before writing anything when the phone would not get the SMS.
    """
    by_sms = user.phone is not None and not show
    if by_sms and user.phone is not None:
        refused = may_text(session, user.phone, Occasion.ANSWER)
        if refused is not None:
            raise SmsRefused(refused)
    reset, token = _new_reset(session, user, actor, sender.token_key, lifetime)
    details = {"delivery": "sms" if by_sms else "shown", "minutes": _minutes(lifetime)}
    audit.record(session, actor, ISSUED, "staff_user", str(user.id), details)
    if not by_sms or user.phone is None:
        return Delivery(reset, shown=f"{sender.public_base_url}/console/set-password/{token}")
    said = SetPasswordLink(
        user.username, stored_url(sender.public_base_url, reset), _minutes(lifetime)
    )
    sms = Sms(user.phone, sender.compose(said, user.language), user.language, "set_password")
    return Delivery(reset, owing=owe_text(session, sms, Occasion.ANSWER))


def _new_reset(
    session: Session, user: StaffUser, actor: str, key: str, lifetime: timedelta
) -> tuple[PasswordReset, str]:
    """End the account's earlier links, then make the new one; only its hash is kept."""
    now = utcnow()
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    token, salt = new_token(key)
    reset = PasswordReset(
        user_id=user.id,
        token_hash=hash_token(token),
        token_salt=salt,
        created_at=now,
        expires_at=now + lifetime,
        ended_by_use=False,
        issued_by=actor[:40],
    )
    session.add(reset)
    session.flush()
    return reset, token


_BY_TOKEN = select(PasswordReset).where(PasswordReset.token_hash == bindparam("token_hash"))


def open_link(session: Session, token: str, address: str) -> tuple[PasswordReset, StaffUser]:
    """The usable link a token opens and its account; raises `ResetUnavailable` saying why.

    Only misses are counted against the address, as for form links (core/link_tokens.py).
    """
    reset = None
    if 16 <= len(token) <= 64:
        reset = session.scalar(_BY_TOKEN, {"token_hash": hash_token(token)})
    if reset is None:
        if not throttle.take(session, f"set-password:guess:{address}", GUESSES_PER_ADDRESS):
            raise ResetUnavailable(ResetProblem.THROTTLED)
        raise ResetUnavailable(ResetProblem.UNKNOWN)
    user = session.get(StaffUser, reset.user_id)
    if reset.ended_at is not None or user is None or not user.is_active:
        raise ResetUnavailable(ResetProblem.USED)
    if utcnow() >= reset.expires_at:
        raise ResetUnavailable(ResetProblem.EXPIRED)
    return reset, user


def use_link(session: Session, token: str, password: str, address: str) -> StaffUser:
    """Set the account's password through its link: the rules apply, every session ends,
    the link is spent. Raises `ResetUnavailable` or `core.users.PasswordRefused`."""
    reset, user = open_link(session, token, address)
    set_password(session, user, password, user.username)
    reset.ended_at = utcnow()
    reset.ended_by_use = True
    audit.record(session, user.username, USED, "staff_user", str(user.id))
    return user


def _minutes(lifetime: timedelta) -> int:
    return int(lifetime.total_seconds() // 60)
