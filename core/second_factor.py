"""Two-factor sign-in: a time-based one-time code (RFC 6238) after the password.

National accounts read every family's record in the country, so a leaked password alone must
not open them: the roles in `REQUIRED` cannot use a page until they have a confirmed factor.
The army is in that set for every army account, whatever its area: its officers hold the
final lists and record handovers, and an army account may be posted at any level. Every other
role may enrol, or turn its factor off, from its console.

A factor is its own table keyed by the account's id (not columns of `staff_users`): the
secret sealed at rest (`core/second_factor_secrets.py`), when it was confirmed, and the last
time step accepted. A code is accepted once: its step must come after the last one used, so
a code read over a shoulder or replayed from a log opens nothing. Ten recovery codes are made
at confirmation and shown once; each opens one sign-in. Wrong codes are counted per account
(whoever guesses already has the password) and slowed like passwords (`GUESSES`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import NoReturn

import pyotp
from sqlalchemy import BigInteger, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, throttle
from core.db import Base, UTCDateTime, utcnow
from core.digits import to_ascii_digits
from core.roles import Role
from core.second_factor_secrets import (
    SecretUnreadable,
    hash_recovery_code,
    new_recovery_code,
    seal,
    typed_recovery_code,
    unseal,
)
from core.users import StaffUser

REQUIRED = frozenset(
    {Role.MINISTRY, Role.HEALTH_MINISTRY, Role.INSPECTOR, Role.COMMITTEE, Role.ADMIN, Role.ARMY}
)
RECOVERY_CODES = 10
ISSUER = "1766 Intake"
# 5 wrong codes, then waits of 1, 2, 4, 8, then 15 minutes before each further one: about a
# hundred guesses a day against a million codes (three valid at any moment).
GUESSES = throttle.Backoff(5, timedelta(minutes=1), timedelta(minutes=15))


class SecondFactor(Base):
    """An account's TOTP secret (sealed), once confirmed by a first valid code."""

    __tablename__ = "staff_second_factors"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_sealed: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The highest time step (30-second count since 1970) a code was accepted for.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """One recovery code's hash; `used_at` is set by the sign-in it opened."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(StrEnum):
    """Audit actions about second factors."""

    ENROLMENT_STARTED = "second_factor.enrolment_started"
    ENROLLED = "second_factor.enrolled"
    CODE_REFUSED = "second_factor.code_refused"
    RECOVERY_CODE_USED = "second_factor.recovery_code_used"
    RECOVERY_CODES_RENEWED = "second_factor.recovery_codes_renewed"
    TURNED_OFF = "second_factor.turned_off"
    RESET = "second_factor.reset"


class CodeRefused(Exception):
    """A code was not accepted; `retry_at` is set when it was the throttle, not the code."""

    def __init__(self, retry_at: datetime | None = None) -> None:
        super().__init__("throttled" if retry_at else "code refused")
        self.retry_at = retry_at


class FactorError(Exception):
    """The factor is not in the state this step needs (already enrolled, required, none)."""


def required_for(role: Role) -> bool:
    return role in REQUIRED


def factor_of(session: Session, user_id: int) -> SecondFactor | None:
    return session.get(SecondFactor, user_id)


def is_confirmed(session: Session, user_id: int) -> bool:
    """True when this account signs in with a code after its password."""
    factor = factor_of(session, user_id)
    return factor is not None and factor.confirmed_at is not None


def enrolment_secret(session: Session, user: StaffUser, key: str) -> str:
    """The secret to set up in an authenticator app: the pending one, or a new one.

    Showing the same secret until it is confirmed lets a page be reloaded after scanning."""
    factor = factor_of(session, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise FactorError("already enrolled")
    if factor is not None:
        try:
            return unseal(key, user.id, factor.secret_sealed)
        except SecretUnreadable:
            session.delete(factor)
            session.flush()
    secret = pyotp.random_base32()
    session.add(SecondFactor(user_id=user.id, secret_sealed=seal(key, user.id, secret)))
    audit.record(session, user.username, Event.ENROLMENT_STARTED, "staff_user", str(user.id))
    return secret


def setup_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def confirm(session: Session, user: StaffUser, code: str, key: str) -> list[str]:
    """Turn the pending factor on with a first valid code; returns the recovery codes (shown
    once). Every other session of the account ends (the caller renews this one's epoch)."""
    factor = factor_of(session, user.id)
    if factor is None or factor.confirmed_at is not None:
        raise FactorError("no enrolment pending")
    _count_guess(session, user)
    step = _accepted_step(factor, key, code)
    if step is None:
        _refuse(session, user, "enrolment")
    factor.confirmed_at = utcnow()
    factor.last_step = step
    user.session_epoch += 1
    throttle.clear(session, _throttle_key(user))
    audit.record(session, user.username, Event.ENROLLED, "staff_user", str(user.id))
    return _new_recovery_codes(session, user)


def check(session: Session, user: StaffUser, typed: str, key: str) -> str:
    """Accept a sign-in's code (6 digits) or recovery code; returns "code" or "recovery".

    The attempt is counted before it is checked; the caller commits even when this raises
    `CodeRefused`, so that the count and the audit of the failure survive."""
    factor = factor_of(session, user.id)
    if factor is None or factor.confirmed_at is None:
        raise FactorError("no confirmed factor")
    _count_guess(session, user)
    code = _digits(typed)
    if code is not None:
        step = _accepted_step(factor, key, code)
        if step is None:
            _refuse(session, user, "code")
        factor.last_step = step
        way = "code"
    else:
        _use_recovery_code(session, user, typed)
        way = "recovery"
    throttle.clear(session, _throttle_key(user))
    return way


def renew_recovery_codes(session: Session, user: StaffUser, typed: str, key: str) -> list[str]:
    """Ten new recovery codes for the old ones (used up, or seen by someone), proven with a
    current code; the old ones stop working."""
    check(session, user, typed, key)
    codes = _new_recovery_codes(session, user)
    audit.record(session, user.username, Event.RECOVERY_CODES_RENEWED, "staff_user", str(user.id))
    return codes


def turn_off(session: Session, user: StaffUser, typed: str, key: str) -> None:
    """An optional factor turned off by its owner, who proves it with a current code."""
    if required_for(user.role):
        raise FactorError("required for this role")
    check(session, user, typed, key)
    _remove(session, user.id)
    audit.record(session, user.username, Event.TURNED_OFF, "staff_user", str(user.id))


def reset(session: Session, user: StaffUser, actor: str) -> bool:
    """An admin removes a lost factor: the account enrols again (if its role requires it) at
    its next sign-in, and every open session of it ends. False when there was none."""
    had = factor_of(session, user.id) is not None
    _remove(session, user.id)
    user.session_epoch += 1
    audit.record(session, actor, Event.RESET, "staff_user", str(user.id), {"had_factor": had})
    return had


def recovery_codes_left(session: Session, user_id: int) -> int:
    stmt = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def _remove(session: Session, user_id: int) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(SecondFactor).where(SecondFactor.user_id == user_id))


def _digits(typed: str) -> str | None:
    """Six digits, as typed on any keyboard (Arabic-Indic too, spaces allowed); else None."""
    code = "".join(to_ascii_digits(typed).split())
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def _accepted_step(factor: SecondFactor, key: str, code: str | None) -> int | None:
    """The time step this code belongs to, if it is valid now and after the last one used."""
    if code is None:
        return None
    try:
        totp = pyotp.TOTP(unseal(key, factor.user_id, factor.secret_sealed))
    except SecretUnreadable:
        return None  # SECRET_KEY changed: only an admin's reset helps
    now = utcnow()
    if not totp.verify(code, for_time=now, valid_window=1):
        return None
    step = totp.verify_and_get_timecode(code, for_time=now, valid_window=1)
    return step if factor.last_step is None or step > factor.last_step else None


def _use_recovery_code(session: Session, user: StaffUser, typed: str) -> None:
    code = typed_recovery_code(to_ascii_digits(typed))
    found = None
    if code is not None:
        digest = hash_recovery_code(user.id, code)
        found = session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == digest,
                RecoveryCode.used_at.is_(None),
            )
        )
    if found is None:
        _refuse(session, user, "recovery")
    found.used_at = utcnow()
    left = recovery_codes_left(session, user.id)
    audit.record(
        session, user.username, Event.RECOVERY_CODE_USED, "staff_user", str(user.id), {"left": left}
    )


def _new_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(user.id, code)) for code in codes
    )
    return codes


def _throttle_key(user: StaffUser) -> str:
    return f"second-factor:{user.id}"


def _count_guess(session: Session, user: StaffUser) -> None:
    retry_at = throttle.attempt(session, _throttle_key(user), GUESSES)
    if retry_at is not None:
        raise CodeRefused(retry_at)


def _refuse(session: Session, user: StaffUser, kind: str) -> NoReturn:
    audit.record(
        session, user.username, Event.CODE_REFUSED, "staff_user", str(user.id), {"kind": kind}
    )
    raise CodeRefused()
