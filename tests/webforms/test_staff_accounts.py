"""The admin's staff accounts pages (`/console/users`), the set-password link's page, and a
member of staff's own `/console/password`: as a browser without JavaScript uses them."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import ELSEWHERE, HOME, PASSWORD, make_user
from tests.support.staff_web import client_for, csrf, sign_in

NEW_PASSWORD = "a fresh passphrase for 2026"


@pytest.fixture
def staff_office(app: Flask, db: Session, geo: None) -> dict[str, StaffUser]:
    """An admin, a focal point and a mukhtar of Chiyah, a Beirut focal point."""
    people = {
        "admin": make_user(db, Role.ADMIN, "LB", "root"),
        "focal": make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal"),
        "mukhtar": make_user(db, Role.MUKHTAR, HOME, "chiyah-mukhtar"),
        "beirut": make_user(db, Role.FOCAL_POINT, ELSEWHERE, "beirut-focal"),
    }
    db.commit()
    return people


def admin_client(app: Flask) -> FlaskClient:
    client = client_for(app, "root")
    client.get("/language/en")
    return client


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    token = csrf(client, "/console/users")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kw)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def test_the_list_filters_by_area_role_state_and_name(
    app: Flask, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    page = text(client.get("/console/users?area=LB32&role=mukhtar"))
    assert re.findall(r'data-username="([^"]+)"', page) == ["chiyah-mukhtar"]
    page = text(client.get("/console/users?q=focal&state=active"))
    assert re.findall(r'data-username="([^"]+)"', page) == ["beirut-focal", "chiyah-focal"]
    page = text(client.get("/console/users?role=%3Cscript%3E&state=asleep&area=" + "9" * 500))
    assert "No account matches." in page and "<script>" not in page


@pytest.mark.parametrize("role", [Role.FOCAL_POINT, Role.MINISTRY, Role.INSPECTOR])
def test_other_roles_get_403(
    app: Flask, db: Session, staff_office: dict[str, StaffUser], role: Role
) -> None:
    make_user(db, role, HOME if role is Role.FOCAL_POINT else "LB", "someone")
    db.commit()
    client = client_for(app, "someone")
    target = staff_office["mukhtar"].id
    assert client.get("/console/users").status_code == 403
    assert client.get(f"/console/users/{target}").status_code == 403
    token = csrf(client, "/console")
    response = client.post(f"/console/users/{target}/disable", data={"csrf_token": token})
    assert response.status_code == 403
    assert db.get(StaffUser, target).is_active  # type: ignore[union-attr]


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient, staff_office: dict) -> None:
    response = client.get("/console/users")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_disabling_ends_the_accounts_open_session(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    mukhtar = client_for(app, "chiyah-mukhtar")
    assert mukhtar.get("/console").status_code == 200
    client = admin_client(app)
    target = staff_office["mukhtar"].id
    response = post(client, f"/console/users/{target}/disable")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "The account is disabled; its open sessions have ended." in page
    assert 'data-state="disabled"' in page
    gone = mukhtar.get("/console")
    assert gone.status_code == 302 and "/sign-in" in gone.headers["Location"]
    assert sign_in(app.test_client(), "chiyah-mukhtar").status_code == 401
    post(client, f"/console/users/{target}/enable")
    assert sign_in(app.test_client(), "chiyah-mukhtar").status_code == 302


def test_the_last_admin_cannot_disable_or_demote_itself(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    me = staff_office["admin"].id
    refused = post(client, f"/console/users/{me}/disable")
    assert refused.status_code == 400
    assert "This is the last active administrator" in text(refused)
    demoted = post(client, f"/console/users/{me}/role", {"role": "ministry", "area": "LB"})
    assert demoted.status_code == 400
    db.expire_all()
    root = db.get(StaffUser, me)
    assert root is not None and root.is_active and root.role is Role.ADMIN


def test_role_and_area_change_is_audited_and_bad_input_refused(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    target = staff_office["mukhtar"].id
    for data, message in [
        ({"role": "mayor", "area": HOME}, "Choose a role from the list."),
        ({"role": "focal_point", "area": "LB32"}, "This role is tied to another level of area."),
        ({"role": "focal_point", "area": "29999"}, "No area has this code."),
    ]:
        refused = post(client, f"/console/users/{target}/role", data)
        assert refused.status_code == 400 and message in text(refused)
    changed = post(
        client, f"/console/users/{target}/role", {"role": "volunteer", "area": ELSEWHERE}
    )
    assert changed.status_code == 302
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.role_changed")).one()
    assert json.loads(event.details) == {
        "old_role": "mukhtar",
        "old_area": HOME,
        "new_role": "volunteer",
        "new_area": ELSEWHERE,
    }
    assert event.actor == "root"


def test_a_new_account_gets_a_link_shown_once_that_sets_its_password(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    shown = post(
        client,
        "/console/users/new",
        {"username": "New-Volunteer", "role": "volunteer", "area": HOME},
    )
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    link = re.search(r'id="link" value="https?://[^/]+(/console/set-password/[^"]+)"', text(shown))
    assert link, text(shown)
    owner = app.test_client()
    owner.environ_base["wsgi.url_scheme"] = "https"
    form = owner.get(link.group(1))
    assert form.status_code == 200 and "new-volunteer" in text(form)
    token = csrf(owner, link.group(1))
    mismatch = owner.post(
        link.group(1), data={"csrf_token": token, "new": NEW_PASSWORD, "repeat": "x"}
    )
    assert mismatch.status_code == 400
    weak = owner.post(link.group(1), data={"csrf_token": token, "new": "short", "repeat": "short"})
    assert weak.status_code == 400
    done = owner.post(
        link.group(1), data={"csrf_token": token, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    assert done.status_code == 200 and 'id="done"' in text(done)
    assert sign_in(app.test_client(), "new-volunteer", NEW_PASSWORD).status_code == 302
    again = owner.get(link.group(1))
    assert again.status_code == 410 and 'id="unavailable"' in text(again)


def test_bad_new_accounts_are_refused_with_every_problem(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    before = len(db.scalars(select(StaffUser)).all())
    response = post(
        client,
        "/console/users/new",
        {"username": "../x", "role": "mayor", "area": "21111", "phone": "01 123 456"},
    )
    assert response.status_code == 400
    page = text(response)
    assert "The username must be 3 to 40 characters" in page
    assert "Choose a role from the list." in page
    assert "This is not a Lebanese mobile number." in page
    taken = post(
        client, "/console/users/new", {"username": "chiyah-focal", "role": "mukhtar", "area": HOME}
    )
    assert taken.status_code == 400 and "This username is taken." in text(taken)
    db.expire_all()
    assert len(db.scalars(select(StaffUser)).all()) == before


def test_a_reset_by_sms_then_the_link_ends_every_other_session(
    app: Flask, db: Session, staff_office: dict[str, StaffUser], clock: ModuleType
) -> None:
    client = admin_client(app)
    target = staff_office["focal"]
    phone = post(client, f"/console/users/{target.id}/phone", {"phone": "03 123 456"})
    assert phone.status_code == 302
    bad = post(client, f"/console/users/{target.id}/phone", {"phone": "hello"})
    assert bad.status_code == 400
    sent = post(client, f"/console/users/{target.id}/reset")
    assert sent.status_code == 302 and "done=sent" in sent.headers["Location"]
    focal = client_for(app, "chiyah-focal")
    clock.freeze(datetime.now(UTC))
    shown = post(client, f"/console/users/{target.id}/reset", {"show": "yes"})
    path = re.search(r'(/console/set-password/[^"]+)"', text(shown))
    assert path
    clock.advance(timedelta(minutes=31))
    owner = app.test_client()
    assert owner.get(path.group(1)).status_code == 410  # expired
    clock.advance(timedelta(minutes=-31))
    token = csrf(owner, path.group(1))
    owner.post(
        path.group(1), data={"csrf_token": token, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    clock.unfreeze()
    assert focal.get("/console").status_code == 302  # the other session ended


def test_unknown_set_password_links_are_refused_clearly(app: Flask, staff_office: dict) -> None:
    owner = app.test_client()
    response = owner.get("/console/set-password/" + "A" * 24)
    assert response.status_code == 404
    assert 'id="unavailable"' in text(response)
    assert owner.get("/console/set-password/" + "x" * 500).status_code == 404


def write_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([["username", "role", "area_code", "phone"], *rows])
    return out.getvalue().encode()


def test_an_import_with_bad_rows_lists_each_and_creates_nothing(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    data = write_csv(
        [
            ["good-one", "mukhtar", HOME, ""],
            ["chiyah-focal", "mukhtar", HOME, ""],
            ["bad-area", "mukhtar", "29999", ""],
        ]
    )
    response = post(
        client,
        "/console/users/import",
        {"file": (io.BytesIO(data), "staff.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert re.findall(r'class="problem" data-line="(\d+)"', text(response)) == ["3", "4"]
    db.expire_all()
    assert db.scalar(select(StaffUser).where(StaffUser.username == "good-one")) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("username,role,area_code\nعمر,mukhtar,21111\n".encode("cp1256"), "save it as “CSV UTF-8”"),
        (b"name;role\n", "The file lacks the columns"),
        (b"username,role,area_code\n", "The file has no account in it."),
    ],
    ids=["windows-1256", "no-columns", "no-rows"],
)
def test_an_unreadable_import_is_refused(
    app: Flask, staff_office: dict[str, StaffUser], data: bytes, message: str
) -> None:
    client = admin_client(app)
    response = post(
        client,
        "/console/users/import",
        {"file": (io.BytesIO(data), "staff.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and message in text(response)


def test_an_oversized_import_is_refused_before_it_is_read(app: Flask, staff_office: dict) -> None:
    """Over the service's request limit: 413 from the length alone, nothing read."""
    client = admin_client(app)
    size = 6 * 1024 * 1024
    response = client.post(
        "/console/users/import",
        input_stream=io.BytesIO(b"x" * size),
        content_length=size,
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413


def test_an_import_creates_accounts_and_answers_with_a_defused_csv(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = admin_client(app)
    data = write_csv(
        [["halba-focal", "focal_point", "35111", ""], ["agent-b", "agent", "LB", "03 123 457"]]
    )
    response = post(
        client,
        "/console/users/import",
        {"file": (io.BytesIO(data), "staff.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, text(response)
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0] == ["username", "role", "area_code", "set_password"]
    assert rows[1][0] == "halba-focal" and "/console/set-password/" in rows[1][3]
    assert rows[2][0] == "agent-b" and rows[2][3] == "sms"
    db.expire_all()
    assert (
        db.scalar(select(StaffUser).where(StaffUser.username == "agent-b")).phone == "+9613123457"
    )  # type: ignore[union-attr]


def test_a_member_of_staff_changes_their_own_password_at_console_password(
    app: Flask, db: Session, staff_office: dict[str, StaffUser]
) -> None:
    client = client_for(app, "chiyah-mukhtar")
    other = client_for(app, "chiyah-mukhtar")
    client.get("/language/en")
    assert client.get("/console/password").status_code == 200
    token = csrf(client, "/console/password")
    response = client.post(
        "/console/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "new": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200 and "Your password is changed." in text(response)
    assert client.get("/console").status_code == 200  # this browser stays in
    assert other.get("/console").status_code == 302  # the other one is out
