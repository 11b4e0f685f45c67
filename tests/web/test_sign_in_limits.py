"""The sign-in throttle's policy over HTTP: guessing is slowed where it happens, waits grow and
say when they end, and no stranger can lock an account's owner out (core/users.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_time
from sqlalchemy.orm import Session

from core import users
from core.roles import Role
from core.users import PER_PAIR, StaffUser
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user
from tests.support.staff_web import from_address, sign_in

WRONG = "wrong password here"
NOON = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 12:00 in Beirut


@pytest.fixture
def focal_without_round(db: Session) -> StaffUser:
    load_sample_geography(db)
    user = make_user(db, Role.FOCAL_POINT, HOME, username="focal")
    db.commit()
    return user


def beirut_time(app: Flask, moment: datetime, language: str = "ar") -> str:
    with app.test_request_context(), force_locale(language):
        return str(format_time(moment, "short"))


def fail(client: FlaskClient, times: int, username: str = "focal") -> list[int]:
    return [sign_in(client, username, WRONG).status_code for _ in range(times)]


def test_a_stranger_cannot_lock_the_owner_out(
    client: FlaskClient, focal_without_round: StaffUser
) -> None:
    """Before, five wrong passwords from anywhere locked the account for everyone."""
    stranger = from_address(client, "198.51.100.7")
    assert fail(stranger, PER_PAIR.free) == [401] * PER_PAIR.free
    assert fail(stranger, 10) == [429] * 10  # refused unchecked: these count for nothing
    assert sign_in(from_address(client, "10.1.2.3"), "focal", PASSWORD).status_code == 302


def test_waits_grow_and_the_page_says_until_when(
    client: FlaskClient, focal_without_round: StaffUser, clock: ModuleType
) -> None:
    clock.freeze(NOON)
    fail(client, PER_PAIR.free)
    waited = NOON
    for wait in (1, 2, 4, 8, 15, 15):
        refused = sign_in(client, "focal", PASSWORD)
        assert refused.status_code == 429
        until = waited + timedelta(minutes=wait)
        assert beirut_time(client.application, until) in refused.get_data(as_text=True)
        assert refused.headers["Retry-After"] == str(wait * 60)
        clock.advance(timedelta(minutes=wait) - timedelta(seconds=1))
        assert sign_in(client, "focal", PASSWORD).status_code == 429  # not a second early
        waited = clock.advance(timedelta(seconds=1))
        assert fail(client, 1) == [401]  # the wait is over: one more attempt is checked
    clock.advance(timedelta(minutes=15))
    assert sign_in(client, "focal", PASSWORD).status_code == 302  # and the owner gets in


def test_the_wait_is_said_in_the_users_language(
    client: FlaskClient, focal_without_round: StaffUser
) -> None:
    client.get("/language/fr")
    fail(client, PER_PAIR.free)
    page = sign_in(client, "focal", PASSWORD)
    assert page.status_code == 429
    assert "Trop de tentatives échouées depuis cet endroit. Réessayez après" in page.get_data(
        as_text=True
    )


def test_a_success_clears_the_count(client: FlaskClient, focal_without_round: StaffUser) -> None:
    fail(client, PER_PAIR.free - 1)
    assert sign_in(client, "focal", PASSWORD).status_code == 302
    same_address = from_address(client, "127.0.0.1")
    assert fail(same_address, PER_PAIR.free) == [401] * PER_PAIR.free


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The address and account-wide limits made small, so a test needs few (slow) checks."""
    monkeypatch.setattr(users, "PER_ADDRESS", replace(users.PER_ADDRESS, free=3))
    monkeypatch.setattr(users, "ACCOUNT_WATCH", replace(users.ACCOUNT_WATCH, count=3))


def test_colleagues_behind_one_office_address_who_sign_in_well_never_wait(
    client: FlaskClient, db: Session, focal_without_round: StaffUser, small_limits: None
) -> None:
    office, colleagues = "203.0.113.10", users.PER_ADDRESS.free + 2
    for n in range(colleagues):
        make_user(db, Role.VOLUNTEER, HOME, username=f"colleague-{n}")
    db.commit()
    answers = [
        sign_in(from_address(client, office), f"colleague-{n}", PASSWORD).status_code
        for n in range(colleagues)
    ]
    assert answers == [302] * colleagues
    assert fail(from_address(client, office), users.PER_ADDRESS.free) == [401] * 3
    assert fail(from_address(client, office), 1, "colleague-0") == [429]  # now it waits


def test_an_account_guessed_at_from_many_addresses_slows_them_not_its_owner(
    client: FlaskClient, focal_without_round: StaffUser, small_limits: None
) -> None:
    for n in range(users.ACCOUNT_WATCH.count):
        assert fail(from_address(client, f"192.0.2.{n + 1}"), 1) == [401]
    newcomer = from_address(client, "192.0.2.200")
    assert fail(newcomer, 2) == [401, 429]  # one attempt, then its waits begin (not after 5)
    assert sign_in(from_address(client, "10.1.2.3"), "focal", PASSWORD).status_code == 302
