"""In a real headless Chromium: Chiyah's focal point records a decision and files the week's
needs; Baabda's qaimaqam sees both, Akkar's sees neither (not even by the decision's URL); the
ministry publishes a circular, which anyone then reads on the public page without signing in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from core.db import make_sessionmaker
from core.roles import Role
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.factories import HOME, PASSWORD
from tests.support.quick_accounts import account

pytestmark = pytest.mark.browser

TITLE = "Night curfew from 19:00 to 05:00"
CIRCULAR = "Food parcels are distributed through the municipalities"


@pytest.fixture
def demo_site_with_akkar(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo service, and Akkar's qaimaqam (district LB51) besides the demo accounts."""
    app, engine, output = demo_service(tmp_path)
    passwords = {"qaimaqam-akkar": PASSWORD}
    for username in ("demo-focal", "demo-qaimaqam", "demo-ministry"):
        found = re.search(rf"{username}\s+(\S+)", output)
        assert found, output
        passwords[username] = found.group(1)
    with make_sessionmaker(engine)() as db:
        account(db, "qaimaqam-akkar", Role.QAIMAQAM, "LB51")
        db.commit()
    with live_server(app) as base:
        yield base, passwords
    engine.dispose()


def sign_out(page: Page) -> None:
    page.click("header button[type=submit]")


def issue(page: Page, form: str, title: str, category: str, text: str, day: str) -> str:
    """Fill and send the record or publish form of /console/decisions; the new one's address."""
    page.fill(f"{form} #title", title)
    page.select_option(f"{form} #category", category)
    page.fill(f"{form} #text", text)
    page.fill(f"{form} #effective_from", day)
    page.click(f"{form} button[type=submit]")
    return page.url.split("?")[0]


def file_needs(page: Page, base: str) -> None:
    """The focal point files this week's needs from the console."""
    page.goto(f"{base}/console")
    page.click("a[href='/console/needs']")
    assert page.get_attribute("#deadline", "data-passed") in ("yes", "no")
    page.fill("#food_parcels", "120")
    page.fill("#hygiene_kits", "40")
    page.fill("#quarantine_needs", "Thermometers and gloves")
    page.click("#needs-form button[type=submit]")
    assert "This week's report is filed." in page.inner_text("#filed")


def test_decisions_and_needs_reach_the_district_and_circulars_reach_everyone(
    demo_site_with_akkar: tuple[str, dict[str, str]],
) -> None:
    base, passwords = demo_site_with_akkar
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "demo-focal", passwords["demo-focal"], "/console")
        page.click("a[href='/console/decisions']")
        text = "Shops close at 18:30.\nPharmacies and bakeries stay open."
        decision_url = issue(page, "#record-form", TITLE, "curfew", text, "2020-04-01")
        assert page.inner_text("#done") == "The decision is recorded."
        assert page.inner_text("#issuer") == "Municipality of Chiyah"
        file_needs(page, base)
        sign_out(page)

        # Baabda, LB32
        sign_in(page, base, "demo-qaimaqam", passwords["demo-qaimaqam"], "/console")
        page.click("a[href='/console/decisions']")
        page.click(f"tr.decision-row a:has-text('{TITLE}')")
        assert page.inner_text("#issuer") == "Municipality of Chiyah"
        assert "Pharmacies and bakeries stay open." in page.inner_text("#decision-text")
        page.goto(f"{base}/console/needs")
        chiyah = page.locator(f"tr.needs-row[data-locality='{HOME}']")
        assert "120" in chiyah.inner_text() and "Thermometers and gloves" in chiyah.inner_text()
        assert page.inner_text("#total-food") == "120"
        sign_out(page)

        sign_in(
            page, base, "qaimaqam-akkar", passwords["qaimaqam-akkar"], "/console"
        )  # Akkar, LB51
        page.goto(f"{base}/console/decisions")
        assert TITLE not in page.inner_text("main")
        response = page.goto(decision_url)
        assert response is not None and response.status == 404
        page.goto(f"{base}/console/needs")
        assert page.locator("tr.needs-row").count() == 0
        sign_out(page)

        sign_in(page, base, "demo-ministry", passwords["demo-ministry"], "/console")
        page.click("a[href='/console/decisions']")
        assert TITLE in page.inner_text("#decisions")  # national: it reads every decision
        text = "Each municipality lists the families in need."
        issue(page, "#publish-form", CIRCULAR, "aid", text, "2020-04-10")
        assert "The circular is published." in page.inner_text("#done")
        assert page.inner_text("#issuer") == "Ministry of Social Affairs"
        sign_out(page)

        visitor = browser.new_page()  # no sign-in, no cookie: a citizen
        visitor.goto(f"{base}/circulars")
        assert visitor.locator("html").get_attribute("dir") == "rtl"  # Arabic first
        visitor.click(f"tr.decision-row a:has-text('{CIRCULAR}')")
        assert "Each municipality lists the families in need." in visitor.inner_text("main")
        visitor.goto(f"{base}/circulars")
        assert TITLE not in visitor.inner_text("main")  # a municipal decision is not public
