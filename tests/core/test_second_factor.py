"""The second factor's rules (core/second_factor.py): real codes from pyotp, each time step
accepted once, recovery codes once each, guesses slowed, the secret sealed at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType

import pyotp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import second_factor as factors
from core.audit import AuditEvent
from core.roles import Role
from core.second_factor_secrets import SecretUnreadable, seal, unseal
from core.users import StaffUser
from tests.support.factories import make_user

KEY = "a test secret key that is long enough to be one"
# On a step's first second: the next step starts 30 seconds on.
START = datetime(2030, 3, 4, 9, 0, 0, tzinfo=UTC)


def wrong(code: str) -> str:
    """Six digits that are not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def audited(db: Session, action: str) -> int:
    return int(db.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


@pytest.fixture
def enrolled_ministry(db: Session, clock: ModuleType) -> tuple[StaffUser, pyotp.TOTP, list[str]]:
    clock.freeze(START)
    user = make_user(db, Role.MINISTRY, "LB", username="minister")
    totp = pyotp.TOTP(factors.enrolment_secret(db, user, KEY))
    codes = factors.confirm(db, user, totp.at(START), KEY)
    clock.advance(timedelta(seconds=30))
    return user, totp, codes


def test_the_national_roles_require_a_factor_and_the_others_may_choose() -> None:
    required = {role for role in Role if factors.required_for(role)}
    assert required == {
        Role.MINISTRY,
        Role.HEALTH_MINISTRY,
        Role.INSPECTOR,
        Role.COMMITTEE,
        Role.ADMIN,
        Role.ARMY,
    }


def test_enrolment_shows_one_secret_until_confirmed_and_is_audited(
    db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    user = make_user(db, Role.AGENT, "LB", username="agent-x")
    first = factors.enrolment_secret(db, user, KEY)
    assert factors.enrolment_secret(db, user, KEY) == first  # a reload after scanning
    assert not factors.is_confirmed(db, user.id)
    with pytest.raises(factors.CodeRefused):
        factors.confirm(db, user, wrong(pyotp.TOTP(first).at(START)), KEY)
    epoch = user.session_epoch
    codes = factors.confirm(db, user, pyotp.TOTP(first).at(START), KEY)
    assert factors.is_confirmed(db, user.id)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert user.session_epoch == epoch + 1  # every other session ends
    assert audited(db, "second_factor.enrolled") == 1
    assert audited(db, "second_factor.code_refused") == 1
    with pytest.raises(factors.FactorError):
        factors.enrolment_secret(db, user, KEY)


def test_a_code_is_accepted_once_and_only_within_a_step_either_side(
    db: Session, clock: ModuleType, enrolled_ministry: tuple[StaffUser, pyotp.TOTP, list[str]]
) -> None:
    user, totp, _codes = enrolled_ministry
    now = clock.now()
    assert factors.check(db, user, totp.at(now), KEY) == "code"
    with pytest.raises(factors.CodeRefused):  # the same code again: a replay
        factors.check(db, user, totp.at(now), KEY)
    with pytest.raises(factors.CodeRefused):  # the previous step's code, now older than used
        factors.check(db, user, totp.at(now - timedelta(seconds=30)), KEY)
    with pytest.raises(factors.CodeRefused):  # two steps ahead: outside the window
        factors.check(db, user, totp.at(now + timedelta(seconds=60)), KEY)
    assert factors.check(db, user, totp.at(now + timedelta(seconds=30)), KEY) == "code"
    clock.advance(timedelta(minutes=5))
    typed = " ".join(totp.at(clock.now()))  # spaces between digits, as read aloud
    assert factors.check(db, user, typed, KEY) == "code"
    assert audited(db, "second_factor.code_refused") == 3


def test_codes_typed_in_arabic_indic_digits_are_accepted(
    db: Session, clock: ModuleType, enrolled_ministry: tuple[StaffUser, pyotp.TOTP, list[str]]
) -> None:
    user, totp, _codes = enrolled_ministry
    code = totp.at(clock.now())
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert factors.check(db, user, arabic, KEY) == "code"


def test_each_recovery_code_opens_one_sign_in(
    db: Session, enrolled_ministry: tuple[StaffUser, pyotp.TOTP, list[str]]
) -> None:
    user, _totp, codes = enrolled_ministry
    assert factors.check(db, user, codes[0].upper(), KEY) == "recovery"
    with pytest.raises(factors.CodeRefused):
        factors.check(db, user, codes[0], KEY)
    assert factors.check(db, user, codes[1].replace("-", " "), KEY) == "recovery"
    assert factors.recovery_codes_left(db, user.id) == 8
    assert audited(db, "second_factor.recovery_code_used") == 2


def test_wrong_codes_are_slowed_then_the_right_one_waits_too(
    db: Session, clock: ModuleType, enrolled_ministry: tuple[StaffUser, pyotp.TOTP, list[str]]
) -> None:
    user, totp, _codes = enrolled_ministry
    for _ in range(factors.GUESSES.free):
        with pytest.raises(factors.CodeRefused) as refused:
            factors.check(db, user, wrong(totp.at(clock.now())), KEY)
        assert refused.value.retry_at is None
    with pytest.raises(factors.CodeRefused) as waiting:
        factors.check(db, user, totp.at(clock.now()), KEY)
    assert waiting.value.retry_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    assert factors.check(db, user, totp.at(clock.now()), KEY) == "code"


def test_only_an_optional_factor_can_be_turned_off_and_a_reset_ends_sessions(
    db: Session, clock: ModuleType, enrolled_ministry: tuple[StaffUser, pyotp.TOTP, list[str]]
) -> None:
    user, totp, _codes = enrolled_ministry
    with pytest.raises(factors.FactorError):
        factors.turn_off(db, user, totp.at(clock.now()), KEY)
    epoch = user.session_epoch
    assert factors.reset(db, user, "admin-1") is True
    assert not factors.is_confirmed(db, user.id)
    assert factors.recovery_codes_left(db, user.id) == 0
    assert user.session_epoch == epoch + 1
    assert factors.reset(db, user, "admin-1") is False
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "second_factor.reset")).first()
    assert event is not None and event.actor == "admin-1"


def test_an_optional_factor_is_turned_off_with_a_current_code(
    db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    user = make_user(db, Role.AGENT, "LB", username="agent-x")
    totp = pyotp.TOTP(factors.enrolment_secret(db, user, KEY))
    factors.confirm(db, user, totp.at(START), KEY)
    clock.advance(timedelta(seconds=30))
    factors.turn_off(db, user, totp.at(clock.now()), KEY)
    assert factors.factor_of(db, user.id) is None
    assert audited(db, "second_factor.turned_off") == 1


def test_the_secret_is_sealed_for_one_account_under_one_key() -> None:
    sealed = seal(KEY, 7, "JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert unseal(KEY, 7, sealed) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretUnreadable):
        unseal(KEY, 8, sealed)  # moved onto another account's row
    with pytest.raises(SecretUnreadable):
        unseal("another key altogether, also long enough", 7, sealed)
