"""In a real headless Chromium: a demo focal point signs in, accepts the pledge, sees the
console in Arabic (right-to-left), switches to English, and signs out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit import AuditEvent
from core.db import make_engine, make_sessionmaker
from tests.support.browser import chromium, demo_service, live_server

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_site(tmp_path: Path) -> Iterator[tuple[str, str, Flask]]:
    """A development service on a fresh SQLite store, set up by the real `demo` command."""
    app, engine, output = demo_service(tmp_path)
    password = re.search(r"demo-focal\s+(\S+)\s+focal_point", output)
    assert password, output
    with live_server(app) as base:
        yield base, password.group(1), app
    engine.dispose()


def test_focal_point_signs_in_accepts_pledge_switches_language_and_signs_out(
    demo_site: tuple[str, str, Flask],
) -> None:
    base, password, app = demo_site
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 640})
        page.goto(f"{base}/console")
        assert page.url.startswith(f"{base}/sign-in")
        assert page.locator("html").get_attribute("dir") == "rtl"
        page.fill("#username", "demo-focal")
        page.fill("#password", password)
        page.click("button[type=submit]")

        assert "/pledge" in page.url
        assert "أتعهد بالمحافظة على سرية البيانات" in page.inner_text("#pledge-text")
        page.check("input[name=accept]")
        page.click("main button[type=submit]")

        assert page.url.endswith("/console")
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        heading = page.inner_text("h1")
        assert "demo-focal" in heading and "أهلاً" in heading
        assert "شياح" in page.inner_text("main")  # the account's municipality, in Arabic

        page.click("a[hreflang=en]")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("en", "ltr")
        assert "Welcome, demo-focal" in page.inner_text("h1")
        assert "Chiyah" in page.inner_text("main")

        page.click("header button[type=submit]")
        assert page.url.startswith(f"{base}/sign-in")
        page.goto(f"{base}/console")
        assert page.url.startswith(f"{base}/sign-in")  # signed out for real

    with make_sessionmaker(make_engine(app.config["INTAKE_SETTINGS"].database_url))() as db:
        actions = list(
            db.scalars(select(AuditEvent.action).where(AuditEvent.actor == "demo-focal"))
        )
    assert actions == [
        "staff.signed_in",
        "staff.pledge_accepted",
        "staff.language_changed",
        "staff.signed_out",
    ]
