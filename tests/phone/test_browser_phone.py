"""In a real headless Chromium, the phone simulator: a citizen gets a form link by SMS, fills
the form on a phone-sized page (a household of one, past the blank member block), and hears
the application's status by voice — through the real, signature-checked webhooks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from core.applications import Application
from tests.plugins.fake_twilio import AUTH_TOKEN
from tests.support.browser import chromium, demo_service, live_server
from tests.support.households import pages

pytestmark = pytest.mark.browser


def fill_page(page: Page, values: dict[str, Any]) -> None:
    """Type, choose and tick each value by field name, as a citizen would, then go on."""
    for name, value in values.items():
        field = page.locator(f"[name={name}]")
        if isinstance(value, list):
            for item in value:
                page.check(f"input[name={name}][value={item}]")
        elif field.first.get_attribute("type") == "checkbox":
            if value:
                field.check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click("p.nav button[type=submit]")


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
        # A reply is an SMS of its own: it shows in the inbox once the consumer has decided
        # the message (here at once: no Redis, so the webhook's request decides it).
        page.fill("#body", "HELP")
        page.click("#send-sms")
        assert "send LINK for a form" in page.inner_text("#inbox")

        # The citizen fills the form from that link, on the phone: a household of one, so the
        # blank member block the family page offers is left as it is.
        form = browser.new_page(viewport={"width": 360, "height": 640})
        form.goto(f"{base}/f/{token.group(1)}")
        household = pages(1)
        fill_page(form, household["personal"])
        assert form.url.endswith("/family")
        member = form.locator("[name=members-0-first_name]")
        assert member.input_value() == ""
        # Enter in a member's field (a phone keyboard's "Go") saves: it never removes the member.
        member.fill("مريم")
        member.press("Enter")
        assert form.locator("fieldset.member").count() == 1, "Enter removed the member"
        assert member.input_value() == "مريم" and form.locator("#members-0-relation-e").count()
        # The head lives alone after all: the block, emptied again, is no member.
        member.fill("")
        fill_page(form, {})  # "Save and continue"
        assert form.url.endswith("/housing"), form.inner_text("main")
        fill_page(form, household["housing"])
        fill_page(form, household["finances"])
        assert "تم ارسال بيانك" in form.inner_text("main")
        with app.app_context():
            from web import store

            found = store.db().scalars(select(Application)).one()
            reference, family = found.reference, found.pages()["family"]
        assert family == {"members": []}

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
