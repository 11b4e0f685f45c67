"""In a real headless Chromium: the demo ministry account sets up two-factor sign-in on the
page (the QR code drawn, the key typed into a code computed as a phone would), keeps its
recovery codes, then signs in again with a code; a wrong code keeps it out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.browser import chromium, demo_service, enrol_in_page, live_server

pytestmark = pytest.mark.browser


def test_a_national_account_enrols_then_signs_in_with_a_code(tmp_path: Path) -> None:
    app, engine, output = demo_service(tmp_path)
    found = re.search(r"demo-ministry\s+(\S+)", output)
    assert found, output
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/sign-in?next=/console/dashboard")
        page.fill("#username", "demo-ministry")
        page.fill("#password", found.group(1))
        page.click("main button[type=submit]")
        if "/pledge" in page.url:
            page.check("input[name=accept]")
            page.click("main button[type=submit]")
        assert "/console/second-factor" in page.url  # nothing else opens before it
        page.goto(f"{base}/console/dashboard")
        assert "/console/second-factor" in page.url
        assert page.locator("figure.qr svg").count() == 1
        phone = enrol_in_page(page, base, "demo-ministry")
        assert page.url.endswith("/console/dashboard")
        page.click("header button[type=submit]")  # sign out

        page.goto(f"{base}/sign-in?next=/console/dashboard")
        page.fill("#username", "demo-ministry")
        page.fill("#password", found.group(1))
        page.click("main button[type=submit]")
        assert "/sign-in/code" in page.url
        wrong = f"{(int(phone.now()) + 1) % 1_000_000:06d}"
        page.fill("#code", wrong)
        page.click("main button[type=submit]")
        assert page.locator("p.error[role=alert]").count() == 1
        page.fill("#code", phone.code())
        page.click("main button[type=submit]")
        assert page.url.endswith("/console/dashboard")
    engine.dispose()
