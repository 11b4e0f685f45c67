"""In a real headless Chromium, printing to A4: the family's receipt keeps the reference, its
check digit and the day on one sheet without the page's navigation and buttons; the blank form
a focal point prints runs to a sheet per form page. On both stores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.applications import Application
from core.clock import beirut_day
from core.db import utcnow
from core.household import PAGES
from core.link_lifecycle import issue_link
from core.links import Channel
from core.programme import set_window
from core.references import grouped
from core.roles import Role
from core.settings import Environment
from tests.conftest import settings_for
from tests.support.browser import chromium, live_server, require_chromium, sign_in
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user
from tests.support.households import pages

pytestmark = pytest.mark.browser

# A PDF page object (not the /Pages tree that holds them).
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_pages(pdf: bytes) -> int:
    return len(PDF_PAGE.findall(pdf))


@pytest.fixture
def print_site(
    engine: Engine, session_factory: sessionmaker[Session], db: Session
) -> Iterator[tuple[str, Flask]]:
    """The service on the test's store over plain loopback HTTP, a round open now, and a
    focal point of HOME."""
    require_chromium()
    url = engine.url.render_as_string(hide_password=False)
    settings = settings_for(
        url, environment=Environment.DEVELOPMENT, public_base_url="http://127.0.0.1"
    )
    app = create_app(settings, session_factory=session_factory)
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    make_user(db, Role.FOCAL_POINT, HOME, username="print-focal")
    db.commit()
    with live_server(app) as base:
        yield base, app


def _shown(page: Page, selector: str) -> bool:
    return page.locator(selector).first.is_visible()


def test_the_receipt_prints_on_one_sheet_with_reference_check_digit_and_day(
    print_site: tuple[str, Flask], db: Session
) -> None:
    base, app = print_site
    _link, token = issue_link(db, None, "+9613123456", "en", Channel.SMS_LINK)
    db.commit()
    household, form = pages(41), app.test_client()
    for name in PAGES[:-1]:
        assert form.post(f"/f/{token}/{name}", data=household[name]).status_code == 302
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 640})
        page.goto(f"{base}/f/{token}")
        assert _shown(page, "nav.langs") and _shown(page, ".nav button")
        page.emulate_media(media="print")
        assert not _shown(page, "nav.langs") and not _shown(page, ".nav button")
        assert not _shown(page, "header")

        page.emulate_media(media="screen")
        page.fill("#monthly_income", "1500000")
        page.check("input[name=income_sources][value=daily_work]")
        page.check("input[name=other_aid][value=none]")
        page.check("#declaration")
        page.click(".nav button[type=submit]")
        page.wait_for_selector("#reference")

        application = db.scalars(select(Application)).one()
        day = beirut_day(application.submitted_at)
        page.emulate_media(media="print")
        assert not _shown(page, "header") and not _shown(page, "nav.langs")
        assert page.inner_text("#reference") == grouped(application.reference)
        assert application.reference[-1] in page.inner_text("#check-digit")
        assert page.get_attribute("#sent-on time", "datetime") == day.isoformat()
        assert all(_shown(page, f"#{part}") for part in ("reference", "check-digit", "sent-on"))
        assert "1766" in page.inner_text("main") and _shown(page, "#next")
        body_font = page.evaluate("getComputedStyle(document.body).fontSize")
        assert body_font == "14.6667px"  # 11 pt
        assert pdf_pages(page.pdf(format="A4")) == 1


def test_a_focal_point_prints_a_blank_form_a_sheet_per_page(
    print_site: tuple[str, Flask],
) -> None:
    base, _app = print_site
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "print-focal", PASSWORD, "/console")
        page.click("#blank-form-link")
        page.wait_for_selector("#sheet-personal")
        assert _shown(page, ".no-print")
        page.emulate_media(media="print")
        assert not _shown(page, ".no-print") and not _shown(page, "header")
        assert all(_shown(page, f"#sheet-{name}") for name in PAGES)
        # Each form page starts a new sheet.
        breaks = page.eval_on_selector_all(
            ".sheet", "sheets => sheets.map(s => getComputedStyle(s).breakBefore)"
        )
        assert breaks == ["auto"] + ["page"] * (len(PAGES) - 1)
        assert pdf_pages(page.pdf(format="A4")) >= len(PAGES)
