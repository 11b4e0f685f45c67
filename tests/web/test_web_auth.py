"""Staff sign-in over HTTP: Arabic first, CSRF, throttling, the pledge gate, sign-out."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import users
from core.audit import AuditEvent
from core.roles import Role
from core.users import PER_PAIR, StaffUser
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user
from tests.support.staff_web import csrf, from_address, sign_in


def events(db: Session, action: str) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def sign_in_and_pledge(client: FlaskClient, username: str) -> None:
    sign_in(client, username)
    client.post("/pledge", data={"accept": "yes", "csrf_token": csrf(client, "/pledge")})


@pytest.fixture
def unpledged_focal(db: Session) -> StaffUser:
    load_sample_geography(db)
    user = make_user(db, Role.FOCAL_POINT, HOME, username="focal", pledged=False)
    db.commit()
    return user


def test_sign_in_page_is_arabic_and_right_to_left(client: FlaskClient) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الدخول" in page


def test_console_requires_sign_in(client: FlaskClient) -> None:
    response = client.get("/console")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_first_sign_in_shows_the_pledge_before_anything_else(
    client: FlaskClient, unpledged_focal: StaffUser, db: Session
) -> None:
    response = sign_in(client, "focal")
    assert response.status_code == 302
    console = client.get("/console")
    assert console.status_code == 302 and console.headers["Location"].startswith("/pledge")
    pledge = client.get("/pledge").get_data(as_text=True)
    assert "أتعهد بالمحافظة على سرية البيانات" in pledge
    # Posting without ticking the box does not accept it.
    refused = client.post("/pledge", data={"csrf_token": csrf(client, "/pledge")})
    assert refused.status_code == 400
    assert events(db, "staff.pledge_accepted") == 0
    accepted = client.post("/pledge", data={"accept": "yes", "csrf_token": csrf(client, "/pledge")})
    assert accepted.status_code == 302
    assert events(db, "staff.pledge_accepted") == 1
    home = client.get("/console")
    assert home.status_code == 200
    assert "focal" in home.get_data(as_text=True)


def test_wrong_password_is_refused_in_arabic(
    client: FlaskClient, unpledged_focal: StaffUser
) -> None:
    response = sign_in(client, "focal", "not the password at all")
    assert response.status_code == 401
    assert "اسم المستخدم أو كلمة المرور" in response.get_data(as_text=True)
    assert client.get("/console").status_code == 302


def test_failed_sign_ins_slow_that_address_down_for_that_account(
    client: FlaskClient, unpledged_focal: StaffUser
) -> None:
    for _ in range(PER_PAIR.free):
        assert sign_in(client, "focal", "wrong password here").status_code == 401
    blocked = sign_in(client, "focal", PASSWORD)  # even the right password, for a while
    assert blocked.status_code == 429
    assert "حاول مجددًا بعد الساعة" in blocked.get_data(as_text=True)
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert client.get("/console").status_code == 302


def test_spraying_from_one_address_slows_that_address_only(
    client: FlaskClient, unpledged_focal: StaffUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "PER_ADDRESS", replace(users.PER_ADDRESS, free=4))  # fewer checks
    for n in range(users.PER_ADDRESS.free):
        assert sign_in(client, f"nobody-{n}", "wrong password here").status_code == 401
    assert sign_in(client, "focal", PASSWORD).status_code == 429
    assert sign_in(from_address(client, "10.9.9.9"), "focal", PASSWORD).status_code == 302


def test_post_without_csrf_token_is_refused_and_writes_nothing(
    client: FlaskClient, unpledged_focal: StaffUser, db: Session
) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"username": "focal", "password": PASSWORD})
    assert response.status_code == 400
    assert "انتهت صلاحية" in response.get_data(as_text=True)
    assert events(db, "staff.signed_in") == 0


def test_sign_out_ends_the_session_and_old_cookies(
    client: FlaskClient, unpledged_focal: StaffUser, db: Session
) -> None:
    sign_in_and_pledge(client, "focal")
    stolen = client.get_cookie("intake_session")
    assert stolen is not None
    token = csrf(client, "/console")
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/console").status_code == 302
    # A copy of the cookie taken before sign-out opens nothing either.
    replay = client.application.test_client()
    replay.environ_base["wsgi.url_scheme"] = "https"
    replay.set_cookie("intake_session", stolen.value)
    assert replay.get("/console").status_code == 302
    assert events(db, "staff.signed_out") == 1


def test_language_switch_is_remembered_for_the_user(
    client: FlaskClient, unpledged_focal: StaffUser, db: Session
) -> None:
    sign_in_and_pledge(client, "focal")
    response = client.get("/language/en?next=/console")
    assert response.headers["Location"] == "/console"
    page = client.get("/console").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page
    db.expire_all()
    assert db.get(StaffUser, unpledged_focal.id).language == "en"  # type: ignore[union-attr]
    french = client.get("/language/fr", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in french


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_language_switch_does_not_redirect_off_site(client: FlaskClient, target: str) -> None:
    response = client.get("/language/en", query_string={"next": target})
    assert response.headers["Location"] == "/console"


def test_oversized_and_hostile_input_gets_a_clear_page(
    client: FlaskClient, unpledged_focal: StaffUser
) -> None:
    token = csrf(client)
    huge = client.post(
        "/sign-in", data={"username": "x" * 2_000_000, "password": "p", "csrf_token": token}
    )
    assert huge.status_code == 413
    assert "Traceback" not in huge.get_data(as_text=True)
    odd = client.post(
        "/sign-in",
        data={
            "username": "'; DROP TABLE staff_users; --\x00",
            "password": "p" * 5000,
            "csrf_token": token,
        },
    )
    assert odd.status_code == 401
    assert sign_in(client, "focal").status_code == 302  # the table and account are intact


def test_unknown_page_is_a_translated_404(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "الصفحة غير موجودة" in response.get_data(as_text=True)


def test_pages_forbid_framing_caching_and_external_assets(client: FlaskClient) -> None:
    response = client.get("/sign-in")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert not re.search(r'(src|href)="https?://', response.get_data(as_text=True))
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_role_without_permission_gets_403(client: FlaskClient, db: Session) -> None:
    """The decorator refuses a signed-in user whose role lacks the view's permission."""
    from flask import Flask

    from core.roles import Permission
    from web.auth import staff_required

    app: Flask = client.application
    load_sample_geography(db)
    make_user(db, Role.ARMY, "LB3", username="officer")
    db.commit()

    @staff_required(Permission.SEND_LINKS)
    def only_links() -> str:
        return "links"

    app.add_url_rule("/test-only-links", "test_only_links", only_links)
    sign_in(client, "officer")
    response = client.get("/test-only-links")
    assert response.status_code == 403
    assert "غير مسموح" in response.get_data(as_text=True)


def test_the_phone_simulator_is_not_served_outside_development(client: FlaskClient) -> None:
    """/dev/phone signs webhooks with the auth token: it must never exist in production."""
    assert client.get("/dev/phone").status_code == 404
    assert client.post("/dev/phone/sms", data={"body": "LINK"}).status_code in (400, 404)
