"""In a real headless Chromium on a phone-sized screen: a municipality's focal point reports a
COVID-19 case and follows it up (a positive result, then recovery); the qaimaqam of its
district sees the case without its contact number, and the qaimaqam of another district
neither lists nor opens it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from core.db import make_sessionmaker
from core.roles import Role
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.factories import PASSWORD
from tests.support.quick_accounts import account

pytestmark = pytest.mark.browser


@pytest.fixture
def health_site(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """The demo service, plus a qaimaqam of Akkar (LB51): passwords by username."""
    app, engine, output = demo_service(tmp_path)
    passwords = {
        name: password
        for name, password in re.findall(r"(demo-focal|demo-qaimaqam)\s+(\S+)", output)
    }
    with make_sessionmaker(engine)() as db:
        account(db, "akkar-qaimaqam", Role.QAIMAQAM, "LB51")
        db.commit()
    passwords["akkar-qaimaqam"] = PASSWORD
    with live_server(app) as base:
        yield base, passwords, tmp_path
    engine.dispose()


def signed_in(browser: Browser, base: str, username: str, password: str) -> Page:
    page = browser.new_page(viewport={"width": 360, "height": 640})
    sign_in(page, base, username, password, "/console/cases", english=False)
    assert page.locator("html").get_attribute("dir") == "rtl"  # Arabic first
    page.click("a[hreflang=en]")
    return page


def report_a_case(page: Page) -> None:
    page.click("#report-case")
    page.select_option("#classification", "suspected")
    page.select_option("#resident_group", "lebanese")
    page.select_option("#age_band", "60-69")
    page.select_option("#sex", "male")
    page.select_option("#isolation_place", "home")
    page.fill("#reported_on", "2020-04-10")
    page.fill("#contact_phone", "03 123 456")
    page.fill("#notes", "Lives alone; the neighbour brings food.")
    page.click("#case-form button[type=submit]")


def follow_up(page: Page, kind: str, result: str | None = None) -> None:
    page.select_option("#kind", kind)
    page.fill("#occurred_on", "2020-04-12")
    if result:
        page.select_option("#result", result)
    page.click("#event-form button[type=submit]")
    assert "The follow-up is recorded." in page.inner_text("#done")


def test_a_case_is_reported_followed_up_and_seen_by_its_district_only(
    health_site: tuple[str, dict[str, str], Path],
) -> None:
    base, passwords, _folder = health_site
    with chromium() as browser:
        page = signed_in(browser, base, "demo-focal", passwords["demo-focal"])
        report_a_case(page)
        assert "Its number is" in page.inner_text("#done")
        assert page.inner_text("#contact-phone") == "+9613123456"
        follow_up(page, "result", "positive")
        assert page.get_attribute("#classification", "data-value") == "confirmed"
        follow_up(page, "recovered")
        status = page.locator("#case-status")
        assert (status.get_attribute("data-status"), status.inner_text()) == (
            "closed",
            "Recovered",
        )
        assert page.locator("#event-form").count() == 0
        case_url = page.url.split("?")[0]
        page.click(".nav a[href$='/console/cases']")
        assert page.locator(".case-row").count() == 1
        number = page.get_attribute(".case-row", "data-number")
        assert number and len(number) == 9

        district = signed_in(browser, base, "demo-qaimaqam", passwords["demo-qaimaqam"])
        district.click(f"tr[data-number='{number}'] a")
        assert district.url == case_url
        assert district.locator("#contact-phone").count() == 0
        assert district.locator("#no-details").is_visible()
        assert "+9613123456" not in district.content()
        assert district.locator("#report-case").count() == 0

        akkar = signed_in(browser, base, "akkar-qaimaqam", passwords["akkar-qaimaqam"])
        assert akkar.locator(".case-row").count() == 0
        response = akkar.goto(case_url)
        assert response is not None and response.status == 404
