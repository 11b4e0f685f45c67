"""Staff pages the way a browser uses them: the CSRF token of a page, signing in and out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.roles import Role
from core.users import StaffUser
from tests.support import second_factor
from tests.support.factories import PASSWORD
from tests.support.quick_accounts import account

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/sign-in") -> str:
    page = client.get(path)
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, "the page carries no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    """The password, then (for an account with a second factor, or a role that requires one:
    tests/support/second_factor.py enrols it first) a real code; the last answer."""
    phone = second_factor.ready(client.application, username)
    token = csrf(client)
    response = client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )
    location = response.headers.get("Location", "")
    if phone is not None and urlsplit(location).path == "/sign-in/code":
        return send_code(client, location, phone.code())
    return response


def send_code(client: FlaskClient, location: str, code: str) -> TestResponse:
    """The sign-in's second step: the code page's form, sent with `code`."""
    return client.post(location, data={"code": code, "csrf_token": csrf(client, location)})


def from_address(client: FlaskClient, address: str) -> FlaskClient:
    """Another browser, at another address."""
    other = client.application.test_client()
    other.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": address})
    return other


def signed_in(client: FlaskClient, username: str) -> FlaskClient:
    """Signed in as `username` (signing out whoever was), pages in English."""
    if client.get("/console").status_code == 200:
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, username)
    client.get("/language/en")
    return client


def signed_in_as(
    client: FlaskClient, db: Session, username: str, people: Mapping[str, tuple[Role, str]]
) -> FlaskClient:
    """Signed in as `username`, whose role and area `people` gives, made on first use."""
    if db.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
        account(db, username, *people[username])
        db.commit()
    return signed_in(client, username)


def client_for(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    assert sign_in(client, username).status_code == 302
    return client
