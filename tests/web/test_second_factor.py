"""Two-factor sign-in over HTTP: national accounts enrol before any page opens, a code after
the password, wrong and replayed codes refused, recovery codes once, guesses slowed, an
admin's reset (web/second_factor.py). Codes are computed with pyotp, as a phone would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import clock as service_clock
from core import second_factor as factors
from core.audit import AuditEvent
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user
from tests.support.second_factor import phone_of
from tests.support.staff_web import client_for, csrf, send_code, sign_in

SECRET = re.compile(r'id="secret" dir="ltr">([A-Z2-7 ]+)</code>')
RECOVERY = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")
START = datetime(2030, 3, 4, 9, 0, 0, tzinfo=UTC)  # a step's first second


@pytest.fixture
def staff_of_every_kind(db: Session) -> None:
    load_sample_geography(db)
    make_user(db, Role.MINISTRY, "LB", username="ministry")
    make_user(db, Role.ADMIN, "LB", username="admin")
    make_user(db, Role.FOCAL_POINT, HOME, username="focal")
    db.commit()


def audited(db: Session, action: str) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def password_only(client: FlaskClient, username: str) -> TestResponse:
    token = csrf(client)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    return client.post("/sign-in?next=/console/applications", data=data)


def enrol_through_the_page(client: FlaskClient) -> tuple[pyotp.TOTP, list[str]]:
    page = client.get("/console/second-factor?next=/console/applications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html  # the QR code, inline
    match = SECRET.search(html)
    assert match, "the page shows no key to type"
    totp = pyotp.TOTP(match.group(1).replace(" ", ""))
    token = csrf(client, "/console/second-factor")
    done = client.post(
        "/console/second-factor?next=/console/applications",
        data={"code": totp.at(service_clock.now()), "csrf_token": token},
    )
    assert done.status_code == 200
    codes = RECOVERY.findall(done.get_data(as_text=True))
    assert len(codes) == 10
    return totp, codes


def test_a_national_account_enrols_before_any_page_opens(
    client: FlaskClient, staff_of_every_kind: None, db: Session
) -> None:
    response = password_only(client, "ministry")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/second-factor")
    blocked = client.get("/console/applications")
    assert blocked.status_code == 302
    assert blocked.headers["Location"].startswith("/console/second-factor")
    enrol_through_the_page(client)
    assert client.get("/console/applications").status_code == 200
    assert audited(db, "second_factor.enrolled") == 1
    # The codes are shown once: the page now only says the factor is on.
    again = client.get("/console/second-factor").get_data(as_text=True)
    assert "<svg" not in again and RECOVERY.findall(again) == []
    # The next sign-in asks for a code.
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    assert password_only(client, "ministry").headers["Location"].startswith("/sign-in/code")


def test_an_optional_role_is_not_forced_and_may_enrol_and_turn_it_off(
    client: FlaskClient, staff_of_every_kind: None, db: Session, clock: ModuleType
) -> None:
    assert password_only(client, "focal").headers["Location"] == "/console/applications"
    home = client.get("/console").get_data(as_text=True)
    assert 'href="/console/second-factor"' in home  # found from the console
    totp, _codes = enrol_through_the_page(client)
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    pending = password_only(client, "focal")
    assert pending.headers["Location"].startswith("/sign-in/code")
    clock.freeze(service_clock.now() + timedelta(seconds=30))  # the enrolment's step is used
    assert send_code(client, pending.headers["Location"], totp.at(clock.now())).status_code == 302
    token = csrf(client, "/console/second-factor")
    clock.advance(timedelta(seconds=30))
    off = client.post(
        "/console/second-factor/off", data={"code": totp.at(clock.now()), "csrf_token": token}
    )
    assert off.status_code == 302
    assert audited(db, "second_factor.turned_off") == 1
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    assert password_only(client, "focal").headers["Location"] == "/console/applications"


def test_a_code_signs_in_once_and_a_wrong_or_replayed_one_does_not(
    client: FlaskClient, staff_of_every_kind: None, db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    sign_in(client, "ministry")  # enrolled by the helper through core, with a real code
    phone = phone_of(client.application, "ministry")
    assert phone is not None
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    clock.advance(timedelta(minutes=2))
    pending = password_only(client, "ministry")
    code_page = pending.headers["Location"]
    assert client.get("/console").headers["Location"].startswith("/sign-in")  # not signed in
    assert client.get(code_page).status_code == 200
    wrong = f"{(int(phone.now()) + 1) % 1_000_000:06d}"
    refused = send_code(client, code_page, wrong)
    assert refused.status_code == 401
    assert audited(db, "second_factor.code_refused") == 1
    code = phone.now()
    assert send_code(client, code_page, code).status_code == 302
    assert client.get("/console").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    code_page = password_only(client, "ministry").headers["Location"]
    assert send_code(client, code_page, code).status_code == 401  # the same code: a replay
    assert client.get("/console").status_code == 302


def test_a_recovery_code_opens_one_sign_in(
    client: FlaskClient, staff_of_every_kind: None, db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    sign_in(client, "ministry")
    phone = phone_of(client.application, "ministry")
    assert phone is not None and len(phone.recovery) == 10
    recovery = phone.recovery.pop()
    for expected in (302, 401):
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
        code_page = password_only(client, "ministry").headers["Location"]
        assert send_code(client, code_page, recovery).status_code == expected
    assert audited(db, "second_factor.recovery_code_used") == 1


def test_the_code_page_lasts_minutes_and_guesses_are_slowed(
    client: FlaskClient, staff_of_every_kind: None, clock: ModuleType
) -> None:
    clock.freeze(START)
    sign_in(client, "ministry")
    phone = phone_of(client.application, "ministry")
    assert phone is not None
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    code_page = password_only(client, "ministry").headers["Location"]
    clock.advance(timedelta(minutes=6))
    assert client.get(code_page).headers["Location"].startswith("/sign-in")  # too late
    code_page = password_only(client, "ministry").headers["Location"]
    wrong = f"{(int(phone.now()) + 1) % 1_000_000:06d}"
    assert [send_code(client, code_page, wrong).status_code for _ in range(5)] == [401] * 5
    waiting = send_code(client, code_page, phone.now())  # even the right code, for a while
    assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) == 60
    clock.advance(timedelta(minutes=1))
    code_page = password_only(client, "ministry").headers["Location"]
    assert send_code(client, code_page, phone.now()).status_code == 302


def test_an_admin_resets_a_lost_factor_and_the_account_enrols_again(
    client: FlaskClient, staff_of_every_kind: None, db: Session, clock: ModuleType
) -> None:
    ministry = client_for(client.application, "ministry")
    account = db.scalar(select(StaffUser).where(StaffUser.username == "ministry"))
    assert account is not None and factors.is_confirmed(db, account.id)
    address = f"/console/users/{account.id}/second-factor/reset"
    # Another role may not.
    assert (
        ministry.post(address, data={"csrf_token": csrf(ministry, "/console")}).status_code == 403
    )
    admin = client_for(client.application, "admin")
    assert f'action="{address}"' in admin.get(f"/console/users/{account.id}").get_data(as_text=True)
    done = admin.post(address, data={"csrf_token": csrf(admin, "/console")})
    assert done.status_code == 200
    assert audited(db, "second_factor.reset") == 1
    db.expire_all()
    assert not factors.is_confirmed(db, account.id)
    assert ministry.get("/console").headers["Location"].startswith("/sign-in")  # signed out
    assert (
        password_only(ministry, "ministry").headers["Location"].startswith("/console/second-factor")
    )
    assert (
        admin.post(
            "/console/users/999999/second-factor/reset",
            data={"csrf_token": csrf(admin, "/console")},
        ).status_code
        == 404
    )


def test_new_recovery_codes_replace_the_old_ones(
    client: FlaskClient, staff_of_every_kind: None, db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    sign_in(client, "ministry")
    phone = phone_of(client.application, "ministry")
    assert phone is not None
    status = client.get("/console/second-factor").get_data(as_text=True)
    assert 'action="/console/second-factor/recovery-codes"' in status
    token = csrf(client, "/console/second-factor")
    clock.advance(timedelta(seconds=60))
    page = client.post(
        "/console/second-factor/recovery-codes", data={"code": phone.now(), "csrf_token": token}
    )
    fresh = RECOVERY.findall(page.get_data(as_text=True))
    assert page.status_code == 200 and len(fresh) == 10
    assert audited(db, "second_factor.recovery_codes_renewed") == 1
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    for code, expected in ((phone.recovery[0], 401), (fresh[0], 302)):
        code_page = password_only(client, "ministry").headers["Location"]
        assert send_code(client, code_page, code).status_code == expected
