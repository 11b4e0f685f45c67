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

from core.applications import Application
from tests.browser import chromium, demo_service, live_server
from tests.fake_twilio import AUTH_TOKEN
from tests.households import pages
from tests.test_forms import fill

pytestmark = pytest.mark.browser


@pytest.fixture
def simulator_site(tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """A development service with a Twilio auth token, so every webhook checks signatures."""
    app, engine, _output = demo_service(tmp_path, twilio_auth_token=AUTH_TOKEN)
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
