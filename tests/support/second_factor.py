"""Two-factor sign-in as tests pass it: real codes computed with pyotp, never one replayed.

The service accepts a code's time step once, and only after the last one it accepted (core/
second_factor.py). A test that signs one account in several times within 30 seconds takes the
current step, then the next one (still within the service's window of one step either side),
then the account's recovery codes, and only then waits for the clock's next step.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

import pyotp
from flask import Flask
from sqlalchemy.orm import Session

from core import clock
from core import second_factor as factors
from core.second_factor_secrets import unseal
from core.users import StaffUser
from web.store import EXTENSION


@dataclass
class Authenticator:
    """What an account's phone (and its drawer of recovery codes) holds."""

    secret: str
    recovery: list[str] = field(default_factory=list)
    last_step: int | None = None

    def code(self) -> str:
        """A code the service has not seen: the current step's, else the next one's, else a
        recovery code, else (none left) the current step's once the clock reaches a new one."""
        totp = pyotp.TOTP(self.secret)
        current = totp.timecode(clock.now())
        for step in (current, current + 1):
            if self.last_step is None or step > self.last_step:
                self.last_step = step
                return totp.generate_otp(step)
        if self.recovery:
            return self.recovery.pop()
        time.sleep(max(0.0, (current + 1) * totp.interval - clock.now().timestamp()) + 0.05)
        if totp.timecode(clock.now()) == current:
            raise AssertionError("every code of this frozen moment is used: advance the clock")
        return self.code()

    def now(self) -> str:
        """The code an app shows at this moment (for tests that type it themselves)."""
        return pyotp.TOTP(self.secret).at(clock.now())


# Each app's accounts' authenticators (a new app per test: nothing leaks between tests).
_PHONES: weakref.WeakKeyDictionary[Flask, dict[str, Authenticator]] = weakref.WeakKeyDictionary()


def phone_of(app: Flask, username: str) -> Authenticator | None:
    return _PHONES.get(app, {}).get(username)


def enrol(session: Session, user: StaffUser, key: str) -> Authenticator:
    """Turn on the account's factor through core, confirmed by a real code."""
    secret = factors.enrolment_secret(session, user, key)
    phone = Authenticator(secret)
    phone.recovery = factors.confirm(session, user, phone.code(), key)
    return phone


def ready(app: Flask, username: str) -> Authenticator | None:
    """Before a sign-in: the authenticator of an account that will be asked for a code.

    An account whose role requires a factor and has none is enrolled through core first (as
    the enrolment page would), so that helpers sign national accounts in as before."""
    key = str(app.config["SECRET_KEY"])
    with app.extensions[EXTENSION]() as session:
        user = session.query(StaffUser).filter_by(username=username.strip().lower()).one_or_none()
        if user is None or not user.is_active:
            return None
        factor = factors.factor_of(session, user.id)
        phones = _PHONES.setdefault(app, {})
        if factor is None or factor.confirmed_at is None:
            if not factors.required_for(user.role):
                return None
            phones[user.username] = enrol(session, user, key)
            session.commit()
            return phones[user.username]
        phone = phones.get(user.username)
        secret = unseal(key, user.id, factor.secret_sealed)
        if phone is None or phone.secret != secret:
            phone = phones[user.username] = Authenticator(secret)
        if factor.last_step is not None:
            phone.last_step = max(phone.last_step or factor.last_step, factor.last_step)
        return phone


def remember(app: Flask, username: str, phone: Authenticator) -> None:
    """Keep an authenticator a test made itself, for the helpers' later sign-ins."""
    _PHONES.setdefault(app, {})[username] = phone


# The accounts enrolled in a browser, by the live server's address and the username.
_BROWSER_PHONES: dict[tuple[str, str], Authenticator] = {}


def browser_phone(base: str, username: str) -> Authenticator | None:
    return _BROWSER_PHONES.get((base, username))


def remember_in_browser(base: str, username: str, phone: Authenticator) -> None:
    _BROWSER_PHONES[(base, username)] = phone
