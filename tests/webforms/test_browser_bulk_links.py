"""In a real headless Chromium with JavaScript off: the demo focal point goes from the
single-link page to links in bulk, pastes numbers, sees them checked, confirms, and watches the
progress page refresh itself from "sending" to "done" while a worker sends the batch."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from core.queue import Job, JobRunner
from tests.support.browser import chromium, demo_service, live_server, sign_in

pytestmark = pytest.mark.browser


class WorkerLater:
    """Runs each job a moment after it is queued, in a thread, as a busy worker would."""

    def __init__(self, inline: JobRunner, delay: float) -> None:
        self.inline, self.delay = inline, delay
        self.timers: list[threading.Timer] = []

    def enqueue(self, queue: str, func: Job, *args: Any, job_id: str, new: bool = False) -> None:
        later = threading.Timer(
            self.delay, self.inline.enqueue, (queue, func, *args), {"job_id": job_id}
        )
        later.start()
        self.timers.append(later)

    def state(self) -> str:
        return "inline"


def test_a_focal_point_sends_links_in_bulk_and_the_progress_page_reaches_done(
    tmp_path: Path,
) -> None:
    app, engine, output = demo_service(tmp_path)
    worker = WorkerLater(app.extensions["intake.jobs"], delay=2.0)
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
