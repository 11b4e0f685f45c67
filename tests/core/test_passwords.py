"""Staff passwords: the easy-to-guess are refused wherever a password is set, saying why, and a
new password signs out every session of the account (core/passwords.py, core/users.py)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.passwords import PasswordProblem, problem
from core.roles import Role
from core.users import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    PER_PAIR,
    StaffUser,
    generate_password,
    set_password,
)
from tests.plugins.cli import GOOD_PASSWORD, add_user_args, assert_refused, count, signs_in
from tests.support.factories import HOME, PASSWORD, make_user
from tests.support.staff_web import csrf, from_address, sign_in


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("a" * 12, PasswordProblem.REPEATED),  # accepted before: long enough, and nothing else
        ("AAAAAAAAAAAAAAAA", PasswordProblem.REPEATED),
        ("abcabcabcabc", PasswordProblem.REPEATED),
        ("121212121212", PasswordProblem.REPEATED),
        ("qwerty123456", PasswordProblem.COMMON),
        ("QAZWSXEDCRFV", PasswordProblem.COMMON),  # the list without regard to case
        ("password2020!", PasswordProblem.COMMON),  # a common one with digits typed after it
        ("Sunshine12345", PasswordProblem.COMMON),
        ("alice-chiyah-2020", PasswordProblem.HAS_USERNAME),
        ("myALICEpassword", PasswordProblem.HAS_USERNAME),
        ("short", PasswordProblem.TOO_SHORT),
        ("x" * (MAX_PASSWORD + 1), PasswordProblem.TOO_LONG),
    ],
)
def test_easy_passwords_are_refused_with_their_reason(
    password: str, reason: PasswordProblem
) -> None:
    assert problem(password, "alice", MIN_PASSWORD, MAX_PASSWORD) is reason


@pytest.mark.parametrize("password", [PASSWORD, GOOD_PASSWORD, "Beirut is my city 1766"])
def test_ordinary_good_passwords_pass(password: str) -> None:
    assert problem(password, "alice", MIN_PASSWORD, MAX_PASSWORD) is None


def test_generated_passwords_always_pass() -> None:
    for _ in range(200):
        assert problem(generate_password(), "demo-focal", MIN_PASSWORD, MAX_PASSWORD) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaaaa", "must not be one character or a short group repeated"),
        ("qwerty123456", "one of the most common passwords"),
        ("alice-from-chiyah", "must not contain the username"),
    ],
)
def test_users_add_refuses_an_easy_password_and_says_why(
    runner: FlaskCliRunner, db: Session, geo: None, password: str, message: str
) -> None:
    result = runner.invoke(args=add_user_args("alice", "focal_point", HOME), input=password + "\n")
    assert_refused(result, message)
    assert password not in result.output
    assert count(db, StaffUser) == 0


def test_users_password_sets_a_new_password_and_refuses_an_easy_one(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    make_user(db, Role.FOCAL_POINT, HOME, username="alice")
    db.commit()
    args = ["users", "password", "alice", "--password-stdin"]
    assert_refused(runner.invoke(args=args, input="letmein12345\n"), "most common passwords")
    assert signs_in(db, "alice", PASSWORD)
    result = runner.invoke(args=args, input="a new and long one 42\n")
    assert result.exit_code == 0, result.output
    assert "alice: password changed" in result.output
    assert signs_in(db, "alice", "a new and long one 42")
    assert not signs_in(db, "alice", PASSWORD)
    assert_refused(runner.invoke(args=["users", "password", "nobody"], input="x\nx\n"), "nobody")


def test_a_new_password_signs_out_the_sessions_made_before_it(
    client: FlaskClient, runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    user = make_user(db, Role.FOCAL_POINT, HOME, username="alice")
    db.commit()
    assert sign_in(client, "alice").status_code == 302
    assert client.get("/console").status_code == 200
    set_password(db, user, "an operator's reset 2026", actor="test")
    db.commit()
    assert client.get("/console").status_code == 302  # back to the sign-in page
    assert sign_in(client, "alice").status_code == 401  # the old password opens nothing
    assert sign_in(client, "alice", "an operator's reset 2026").status_code == 302
    assert client.get("/console").status_code == 200


# --- one's own password, on the console ---------------------------------------------------


def change(client: FlaskClient, current: str, new: str, repeat: str | None = None) -> TestResponse:
    token = csrf(client, "/console/password")
    form = {"current": current, "new": new, "repeat": new if repeat is None else repeat}
    return client.post("/console/password", data={**form, "csrf_token": token})


@pytest.fixture
def alice(client: FlaskClient, db: Session, geo: None) -> StaffUser:
    user = make_user(db, Role.FOCAL_POINT, HOME, username="alice")
    db.commit()
    assert sign_in(client, "alice").status_code == 302
    return user


@pytest.mark.parametrize(
    ("new", "repeat", "said"),
    [
        ("aaaaaaaaaaaaaa", None, "يجب ألا تكون كلمة المرور الجديدة حرفًا واحدًا أو مجموعة قصيرة"),
        ("qwerty123456", None, "كلمة المرور هذه من أكثر كلمات المرور شيوعًا"),
        ("alice-in-chiyah", None, "يجب ألا تتضمن كلمة المرور الجديدة اسم المستخدم"),
        ("short", None, "من 12 حرفًا على الأقل"),
        ("a new and long one 42", "a new and long one 43", "غير متطابقتين"),
    ],
)
def test_an_easy_new_password_is_refused_in_the_users_language(
    client: FlaskClient, db: Session, alice: StaffUser, new: str, repeat: str | None, said: str
) -> None:
    page = change(client, PASSWORD, new, repeat)
    assert page.status_code == 400
    assert said in page.get_data(as_text=True)
    assert signs_in(db, "alice", PASSWORD)  # nothing changed
    assert client.get("/console").status_code == 200


def test_a_new_password_keeps_this_browser_and_signs_out_the_others(
    client: FlaskClient, db: Session, alice: StaffUser
) -> None:
    elsewhere = from_address(client, "10.3.3.3")
    assert sign_in(elsewhere, "alice").status_code == 302
    client.get("/language/en")
    wrong = change(client, "not my password at all", "a new and long one 42")
    assert wrong.status_code == 400
    assert "Your current password is not correct." in wrong.get_data(as_text=True)
    done = change(client, PASSWORD, "a new and long one 42")
    assert done.status_code == 200
    assert "Every other session of your account is signed out." in done.get_data(as_text=True)
    assert client.get("/console").status_code == 200
    assert elsewhere.get("/console").status_code == 302
    assert signs_in(db, "alice", "a new and long one 42")


def test_guessing_the_current_password_is_throttled_like_a_sign_in(
    client: FlaskClient, alice: StaffUser
) -> None:
    answers = [
        change(client, f"guess {n} at it", "a new and long one 42").status_code
        for n in range(PER_PAIR.free)
    ]
    assert answers == [400] * PER_PAIR.free
    refused = change(client, PASSWORD, "a new and long one 42")
    assert refused.status_code == 429
    assert "حاول مجددًا بعد الساعة" in refused.get_data(as_text=True)
