"""In a real headless Chromium with JavaScript off: the demo focal point goes from the
single-link page to links in bulk, pastes numbers, sees them checked, confirms, and watches the
progress page refresh itself from "sending" to "done" while a worker sends the batch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.browser import (
    JobsALittleLater,
    chromium,
    demo_service,
    live_server,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_a_focal_point_sends_links_in_bulk_and_the_progress_page_reaches_done(
    tmp_path: Path,
) -> None:
    app, engine, output = demo_service(tmp_path)
    worker = JobsALittleLater(app.extensions["intake.jobs"], delay=2.0)
    app.extensions["intake.jobs"] = worker
    password = re.search(r"demo-focal\s+(\S+)\s+focal_point", output)
    assert password, output
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 640}, java_script_enabled=False)
        sign_in(page, base, "demo-focal", password.group(1), "/console/links")
        page.click("#bulk-links")
        assert page.url.endswith("/console/links/bulk")
        page.fill("#numbers", "71 555 001\n+961 71 555 002\nhello\n71555001\n")
        page.click("main button[type=submit]")

        assert re.search(r"/console/links/bulk/\d+$", page.url)
        assert page.get_attribute("#batch-state", "data-state") == "checked"
        assert "2 numbers will be sent a link" in page.inner_text("#batch-state")
        assert page.locator("tr.problem-row").count() == 2  # "hello", and the repeated number
        page.click("#confirm")

        assert page.get_attribute("#batch-state", "data-state") == "sending"
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        page.wait_for_selector('#batch-state[data-state="done"]', timeout=20_000)
        assert page.inner_text("#count-issued") == "2"
        assert page.inner_text("#count-sent") == "2"
        assert page.inner_text("#count-skipped") == "2"
        with page.expect_download() as download:
            page.click("#result-csv")
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert "'+96171555001" in text and "sms_queued" in text
    for timer in worker.timers:
        timer.join(timeout=10)
    engine.dispose()
