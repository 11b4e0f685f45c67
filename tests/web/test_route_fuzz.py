"""Every route, every method, with hostile values in each part of its address and in every query
parameter the views read: a page (or TwiML), never a 5xx, never a traceback.

The routes come from the app's own `url_map`, so a new route is fuzzed without being listed
here. The query parameters are those the views are seen to read in a first, benign pass (each
request's `args` records the names asked for) and those written literally in the code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from core.roles import Role
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.staff_web import csrf, sign_in

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = [
    "99999999999999999999",
    "3000000000",
    "2147483648",
    "9" * 5000,
    "-1",
    "0",
    "007",
    "١٢",  # Arabic-Indic digits
    "1.5",
]
TEXTS = [
    "0001-01-01",
    "9999-12-31",
    "2020-02-30",
    "x" * 5000,
    "\x00",
    "a\x00b",
    "../../etc/passwd",
    "é🙂",
    "' OR 1=1 --",
    "%",
    "",
]
HOSTILE = NUMBERS + TEXTS
# Routes that would end the signed-in session the rest of the walk needs.
SKIPPED = {"auth.sign_out"}
PAGE_TYPES = {"text/html", "text/xml", "application/xml", "text/csv", "text/plain"}
PAGE_TYPES |= {"application/json", "audio/mpeg", "application/x-pem-file"}

# (role, area): a municipal role and national ones that between them reach every view; each
# route is fuzzed as every account whose first, benign request it did not refuse.
ACCOUNTS = [
    (Role.FOCAL_POINT, HOME),
    (Role.INSPECTOR, "LB"),
    (Role.AGENT, "LB"),
    (Role.COMMITTEE, "LB"),
    (Role.ARMY, "LB"),
]


class Asked(ImmutableMultiDict[str, str]):
    """Query parameters that remember every name a view asks for."""

    names: ClassVar[set[str]] = set()

    def __getitem__(self, key: str) -> str:
        Asked.names.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        Asked.names.add(key)
        return super().get(key, default, type)

    def getlist(self, key: str, type: Any = None) -> list[Any]:
        Asked.names.add(key)
        return super().getlist(key, type)

    def __contains__(self, key: object) -> bool:
        Asked.names.add(str(key))
        return super().__contains__(key)


def written_names() -> set[str]:
    """Query parameter names written literally in the adapters (`request.args.get("q")`)."""
    pattern = re.compile(
        r"request\.args(?:\.get|\.getlist)?[(\[]\"(\w+)\"|\"(\w+)\" in request\.args"
    )
    found: set[str] = set()
    for folder in ("web", "webforms", "hotline", "ivr", "sms"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in pattern.finditer(path.read_text("utf-8")):
                found.add(match.group(1) or match.group(2))
    return found


def benign(rule: Rule, name: str) -> str:
    """A value each converter accepts, for the first pass."""
    converter = rule._converters[name]
    choices = getattr(converter, "items", None)  # `any(...)`
    if choices:
        return sorted(choices)[0]
    if "Integer" in type(converter).__name__:
        return "1"
    return "personal" if name == "page" else "x"


def address(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^<>]*:)?{name}>", quote(value, safe=""), path)
    return path


def routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIPPED or rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def send(
    client: FlaskClient, method: str, path: str, query: dict[str, str], token: str
) -> TestResponse:
    url = f"{path}?{urlencode(query)}" if query else path
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token, **query})


def check(response: TestResponse, what: str) -> None:
    assert response.status_code < 500, what
    if response.status_code < 300 or response.status_code >= 400:
        assert response.mimetype in PAGE_TYPES or not response.data, what
        assert b"Traceback" not in response.data, what


@pytest.fixture
def every_role(db: Session) -> Session:
    load_sample_geography(db)
    for role, area_code in ACCOUNTS:
        make_user(db, role, area_code, username=username(role))
    db.commit()
    return db


def username(role: Role) -> str:
    return role.value.replace("_", "-")


def signed_in(app: Flask, role: Role) -> tuple[FlaskClient, str]:
    """A client signed in as `role`, and a CSRF token of its session for the posts."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    assert sign_in(client, username(role)).status_code == 302
    return client, csrf(client, "/circulars")


def reachable(response: TestResponse) -> bool:
    """Whether the view ran for this account (not refused, not sent to sign in)."""
    return response.status_code != 403 and "/sign-in" not in response.headers.get("Location", "")


def test_no_route_answers_a_server_error_to_hostile_input(app: Flask, every_role: Session) -> None:
    asking = {"parameter_storage_class": Asked}
    app.request_class = type("AskedRequest", (app.request_class,), asking)
    accounts = [signed_in(app, role) for role, _area in ACCOUNTS]
    reached: dict[tuple[str, str], list[tuple[FlaskClient, str]]] = {}
    asked: dict[tuple[str, str], set[str]] = {}
    for rule, method in routes(app):  # the benign pass: who reaches what, which names are read
        path = address(rule, {name: benign(rule, name) for name in rule.arguments})
        for client, token in accounts:
            Asked.names = set()
            response = send(client, method, path, {}, token)
            check(response, f"{method} {path}")
            if reachable(response):
                reached.setdefault((rule.rule, method), []).append((client, token))
                asked.setdefault((rule.rule, method), set()).update(Asked.names)
    written = written_names()
    for rule, method in routes(app):
        names = asked.get((rule.rule, method), set())
        for client, token in reached.get((rule.rule, method), []):
            fuzz(client, token, rule, method, names | written if names else set())


def fuzz(client: FlaskClient, token: str, rule: Rule, method: str, names: set[str]) -> None:
    """Hostile values in each part of the address, then in each query parameter it reads."""
    values = {name: benign(rule, name) for name in rule.arguments}
    for name in rule.arguments:
        for hostile in HOSTILE:
            path = address(rule, values | {name: hostile})
            check(send(client, method, path, {}, token), f"{method} {path[:80]}")
    for hostile in HOSTILE if names else ():
        query = {name: hostile for name in names}
        what = f"{method} {rule.rule}?…={hostile[:20]!r}"
        check(send(client, method, address(rule, values), query, token), what)


# The addresses of the report, each with what it now answers, in the reader's language.
REPORTED = [
    (Role.AGENT, "GET", "/hotline/tickets/99999999999999999999", 404),
    (Role.AGENT, "GET", "/hotline/calls/99999999999999999999", 404),
    (Role.FOCAL_POINT, "GET", "/console/forms/99999999999999999999/personal", 404),
    (Role.FOCAL_POINT, "POST", "/console/callbacks/3000000000/done", 404),
    (Role.FOCAL_POINT, "GET", "/console/needs?week=0001-01-01", 400),
]


@pytest.mark.parametrize(("role", "method", "path", "status"), REPORTED)
def test_the_reported_addresses_are_not_found_or_refused_in_arabic(
    app: Flask, every_role: Session, role: Role, method: str, path: str, status: int
) -> None:
    client, token = signed_in(app, role)
    client.get("/language/ar")
    response = send(client, method, path, {}, token)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    if status == 400:
        assert "تبدأ الاحتياجات الأسبوعية في عام 2020" in page
