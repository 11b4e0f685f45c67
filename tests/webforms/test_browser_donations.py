"""In a real headless Chromium: Chiyah's focal point records a private person's gift of rice,
files the week's needs and allocates part of the rice to them; allocating more than is left is
refused beside the field and changes nothing; Baabda's qaimaqam then reads the balances of the
district, without the donor's name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.browser import chromium, demo_service, live_server, sign_in

pytestmark = pytest.mark.browser

DONOR = "Rima Haddad"


@pytest.fixture
def donations_demo_site(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo service, and the passwords `demo` printed for its focal point and qaimaqam."""
    app, engine, output = demo_service(tmp_path)
    passwords = {}
    for username in ("demo-focal", "demo-qaimaqam"):
        found = re.search(rf"{username}\s+(\S+)", output)
        assert found, output
        passwords[username] = found.group(1)
    with live_server(app) as base:
        yield base, passwords
    engine.dispose()


def record_rice(page: Page, base: str) -> None:
    page.goto(f"{base}/console")
    page.click("#donations-link")
    page.check("#kind-in_kind")
    page.select_option("#donor_kind", "person")
    page.fill("#donor_name", DONOR)
    page.fill("#what", "Rice")
    page.fill("#unit", "kg")
    page.fill("#quantity", "١٬٠٠٠")  # 1,000 in Arabic-Indic digits
    page.fill("#received_on", "2020-04-10")
    page.click("#record-form button[type=submit]")
    assert page.inner_text("#done") == "The donation is recorded."


def file_the_weeks_needs(page: Page, base: str) -> None:
    page.goto(f"{base}/console/needs")
    page.fill("#food_parcels", "120")
    page.click("#needs-form button[type=submit]")
    assert "This week's report is filed." in page.inner_text("#filed")


def allocate(page: Page, base: str, quantity: str) -> None:
    page.goto(f"{base}/console/donations")
    page.check("#target-needs")
    page.select_option("#report", index=1)  # the week's report, the first after "Choose"
    page.fill("#allocate-quantity", quantity)
    page.fill("#note", "Week's parcels")
    page.click("#allocate-form button[type=submit]")


def test_a_donation_is_recorded_allocated_within_its_balance_and_read_by_the_district(
    donations_demo_site: tuple[str, dict[str, str]],
) -> None:
    base, passwords = donations_demo_site
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "demo-focal", passwords["demo-focal"], "/console")
        record_rice(page, base)
        file_the_weeks_needs(page, base)
        allocate(page, base, "600")
        assert page.inner_text("#done") == "The allocation is recorded."
        allocate(page, base, "400.01")
        assert page.inner_text("#allocate-quantity-e") == (
            "Only 400 is left of this donation: nothing was allocated."
        )
        assert page.get_attribute("#allocate-quantity", "aria-invalid") == "true"
        page.goto(f"{base}/console/donations")
        assert page.inner_text(".donation-row .remaining") == "400"
        assert len(page.query_selector_all(".allocation-row")) == 1
        page.click("header button[type=submit]")  # sign out

        sign_in(page, base, "demo-qaimaqam", passwords["demo-qaimaqam"], "/console")
        page.click("#donations-link")
        row = page.inner_text(".balance-row")
        assert "Chiyah" in row and "Rice (kg)" in row and "1,000" in row and "400" in row
        assert page.query_selector("#record-form") is None
        assert DONOR not in page.content()
        assert page.inner_text(".donation-row .donor") == "A private person"
        page.goto(f"{base}/console/dashboard")
        assert "Rice (kg)" in page.inner_text("#donations")
