"""In a real headless Chromium: the admin disables, in /console/users, an account that has a
session open in another browser context; that session's next page is the sign-in page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from assembly.app import create_app
from core.db import make_engine, make_sessionmaker
from core.roles import Role
from schema import migrate
from tests.conftest import settings_for
from tests.support.browser import chromium, live_server, require_chromium
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user

try:  # two-factor sign-in, where it is built: national accounts type a real code
    from tests.support import second_factor
except ImportError:  # pragma: no cover - before two-factor sign-in exists
    second_factor: Any = None  # type: ignore[no-redef]

pytestmark = pytest.mark.browser


@pytest.fixture
def accounts_site(tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """A service on a fresh SQLite store with an admin and a mukhtar of Chiyah."""
    require_chromium()
    url = f"sqlite:///{tmp_path}/intake.sqlite3"
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as db:
        load_sample_geography(db)
        make_user(db, Role.ADMIN, "LB", "root")
        make_user(db, Role.MUKHTAR, HOME, "chiyah-mukhtar")
        db.commit()
    settings = settings_for(url, public_base_url="http://127.0.0.1")
    app = create_app(settings, session_factory=factory)
    with live_server(app) as base:
        yield base, app
    engine.dispose()


def sign_in(page: Page, base: str, app: Flask, username: str) -> None:
    phone = second_factor.ready(app, username) if second_factor is not None else None
    page.goto(f"{base}/sign-in?next=/console")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    if "/sign-in/code" in page.url and phone is not None:
        page.fill("#code", phone.code())
        page.click("main button[type=submit]")
    assert page.url.endswith("/console"), page.url
    page.click("a[hreflang=en]")


def test_disabling_an_account_ends_its_open_session(accounts_site: tuple[str, Flask]) -> None:
    base, app = accounts_site
    with chromium() as browser:
        mukhtar = browser.new_context(viewport={"width": 360, "height": 640}).new_page()
        sign_in(mukhtar, base, app, "chiyah-mukhtar")
        assert "Welcome, chiyah-mukhtar" in mukhtar.inner_text("h1")

        admin = browser.new_context().new_page()
        sign_in(admin, base, app, "root")
        admin.click("#manage-users")
        assert admin.url.endswith("/console/users")
        admin.fill("#q", "mukhtar")
        admin.click("#filters button[type=submit]")
        admin.click("tr[data-username=chiyah-mukhtar] a")
        admin.click("#disable")
        assert "its open sessions have ended" in admin.inner_text("#done")
        assert admin.get_attribute("#account", "data-state") == "disabled"

        mukhtar.goto(f"{base}/console/applications")
        assert mukhtar.url.startswith(f"{base}/sign-in"), mukhtar.url
        mukhtar.fill("#username", "chiyah-mukhtar")
        mukhtar.fill("#password", PASSWORD)
        mukhtar.click("main button[type=submit]")
        assert "/sign-in" in mukhtar.url  # and it cannot sign in again
