"""In a real headless Chromium, the phone simulator: a citizen gets a form link by SMS, and
after submitting the form hears the application's status by voice — through the real,
signature-checked webhooks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from core import migrate
from core.applications import Application
from core.db import make_engine, make_sessionmaker
from core.settings import Environment
from tests.browser import chromium, chromium_missing, live_server
from tests.conftest import IN_CI, settings_for
from tests.fake_twilio import AUTH_TOKEN
from tests.households import pages
from tests.test_forms import fill
from web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def simulator_site(tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """A development service with a Twilio auth token, so every webhook checks signatures."""
    if chromium_missing():
        if IN_CI:
            pytest.fail("chromium is not installed (CI=true: nothing is skipped)")
        pytest.skip("chromium is not installed")
    url = f"sqlite:///{tmp_path}/intake.sqlite3"
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = settings_for(
        url,
        environment=Environment.DEVELOPMENT,
        public_base_url="http://127.0.0.1",
        twilio_auth_token=AUTH_TOKEN,
    )
    app = create_app(settings, session_factory=make_sessionmaker(engine))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with live_server(app) as base:
        yield base, app
    engine.dispose()


def test_a_citizen_gets_a_link_by_sms_and_hears_the_status_by_voice(
    simulator_site: tuple[str, Flask],
) -> None:
    base, app = simulator_site
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 640})
        page.goto(f"{base}/dev/phone")
        page.fill("#body", "رابط")
        page.click("#send-sms")
        inbox = page.inner_text("#inbox")
        token = re.search(r"/f/([A-Za-z0-9_-]{20,})", inbox)
        assert token, inbox

        # The citizen fills the form from that link (its pages are tested elsewhere).
        assert fill(app.test_client(), f"/f/{token.group(1)}", pages(1)).status_code == 200
        with app.app_context():
            from web import store

            reference = store.db().scalars(select(Application.reference)).one()

        page.click("#call")
        assert "Français" in page.inner_text("#transcript")  # the language menu
        page.fill("#digits", "2")  # English
        page.click("#press")
        page.fill("#digits", "2")  # application status
        page.click("#press")
        page.fill("#digits", reference)
        page.click("#press")
        transcript = page.inner_text("#transcript")
        spoken = " ".join(reference)  # references are read digit by digit
        assert "received" in transcript and (spoken in transcript or reference in transcript)
