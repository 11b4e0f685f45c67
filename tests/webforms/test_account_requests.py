"""`/console/account-requests`: a focal point asks for an account of its municipality, the admin
approves (the account exists, its link goes by SMS) or refuses with a reason."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.account_requests import AccountRequest
from core.messages import Message
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import ELSEWHERE, HOME, make_user
from tests.support.staff_web import client_for, csrf

GOOD = {"username": "new-mukhtar", "role": "mukhtar", "phone": "03 123 456", "reason": "flood"}


@pytest.fixture
def requesting_office(app: Flask, db: Session, geo: None) -> dict[str, StaffUser]:
    people = {
        "admin": make_user(db, Role.ADMIN, "LB", "root"),
        "focal": make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal"),
        "beirut": make_user(db, Role.FOCAL_POINT, ELSEWHERE, "beirut-focal"),
        "mukhtar": make_user(db, Role.MUKHTAR, HOME, "chiyah-mukhtar"),
    }
    db.commit()
    return people


def english(app: Flask, username: str) -> FlaskClient:
    client = client_for(app, username)
    client.get("/language/en")
    return client


def send(client: FlaskClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf(client, "/console/account-requests")
    return client.post(path, data={"csrf_token": token, **data})


def test_a_request_is_approved_and_the_account_gets_its_link_by_sms(
    app: Flask, db: Session, requesting_office: dict[str, StaffUser]
) -> None:
    focal = english(app, "chiyah-focal")
    made = send(focal, "/console/account-requests", GOOD)
    assert made.status_code == 302
    assert "Your request is sent" in focal.get(made.headers["Location"]).get_data(as_text=True)
    admin = english(app, "root")
    page = admin.get("/console/account-requests").get_data(as_text=True)
    [request_id] = re.findall(r'class="request" data-id="(\d+)"', page)
    approved = send(admin, f"/console/account-requests/{request_id}/approve", {})
    assert approved.status_code == 302
    db.expire_all()
    user = db.scalars(select(StaffUser).where(StaffUser.username == "new-mukhtar")).one()
    assert (user.role, user.locality_code, user.phone) == (Role.MUKHTAR, HOME, "+9613123456")
    sms = db.scalars(select(Message).where(Message.purpose == "set_password")).one()
    assert sms.phone == "+9613123456" and "<reset " in sms.body
    page = focal.get("/console/account-requests").get_data(as_text=True)
    assert 'data-username="new-mukhtar" data-state="approved"' in page
    again = send(admin, f"/console/account-requests/{request_id}/approve", {})
    assert again.status_code == 400


def test_a_refusal_needs_a_reason_the_focal_point_reads(
    app: Flask, db: Session, requesting_office: dict[str, StaffUser]
) -> None:
    focal = english(app, "chiyah-focal")
    send(focal, "/console/account-requests", GOOD)
    request_id = db.scalars(select(AccountRequest.id)).one()
    admin = english(app, "root")
    empty = send(admin, f"/console/account-requests/{request_id}/refuse", {"reason": "  "})
    assert empty.status_code == 400
    send(admin, f"/console/account-requests/{request_id}/refuse", {"reason": "one is enough"})
    page = focal.get("/console/account-requests").get_data(as_text=True)
    assert "Refused: one is enough" in page


def test_bad_requests_are_refused_and_nothing_is_written(
    app: Flask, db: Session, requesting_office: dict[str, StaffUser]
) -> None:
    focal = english(app, "chiyah-focal")
    bad = {"username": "chiyah-mukhtar", "role": "admin", "phone": "01 123 456", "reason": ""}
    response = send(focal, "/console/account-requests", bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for message in (
        "This username is taken",
        "Choose a mukhtar, a volunteer or a focal point.",
        "This is a landline.",
        "Say why the account is needed.",
    ):
        assert message in page
    assert db.scalars(select(AccountRequest)).all() == []


def test_requests_stay_within_the_municipality_and_roles(
    app: Flask, db: Session, requesting_office: dict[str, StaffUser]
) -> None:
    send(english(app, "chiyah-focal"), "/console/account-requests", GOOD)
    request_id = db.scalars(select(AccountRequest.id)).one()
    beirut = english(app, "beirut-focal")
    assert "new-mukhtar" not in beirut.get("/console/account-requests").get_data(as_text=True)
    assert send(beirut, f"/console/account-requests/{request_id}/approve", {}).status_code == 403
    mukhtar = english(app, "chiyah-mukhtar")
    assert mukhtar.get("/console/account-requests").status_code == 403
    assert send(mukhtar, "/console/account-requests", GOOD).status_code == 403
    admin = english(app, "root")
    assert send(admin, "/console/account-requests", GOOD).status_code == 403  # admin decides
    assert send(admin, "/console/account-requests/999999/approve", {}).status_code == 404
