"""Staff pages the way a browser uses them: the CSRF token of a page, signing in and out."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/sign-in") -> str:
    page = client.get(path)
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, "the page carries no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    token = csrf(client)
    return client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )


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


def client_for(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    assert sign_in(client, username).status_code == 302
    return client
