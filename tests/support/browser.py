"""A live server in a thread and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine
from werkzeug.serving import make_server

from core.queue import Job, JobRunner
from tests.support import second_factor

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless as root, and quiet on a closed network (no background connections).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_missing() -> bool:
    return not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM))


def require_chromium() -> None:
    """Skip without Chromium on a laptop; under CI=true its absence fails the run."""
    from tests.conftest import IN_CI

    if chromium_missing():
        if IN_CI:
            pytest.fail("chromium is not installed (CI=true: nothing is skipped)")
        pytest.skip("chromium is not installed")


def demo_service(folder: Path, **settings: object) -> tuple[Flask, Engine, str]:
    """A development service on a fresh SQLite store in `folder`, set up by the real `demo`
    command; returns the app, its engine (dispose it) and what `demo` printed."""
    from assembly.app import create_app
    from core.db import make_engine, make_sessionmaker
    from core.settings import Environment
    from schema import migrate
    from tests.conftest import settings_for

    require_chromium()
    url = f"sqlite:///{folder}/intake.sqlite3"
    engine = make_engine(url)
    migrate.upgrade(engine)
    values: dict[str, object] = {
        "environment": Environment.DEVELOPMENT,
        "public_base_url": "http://127.0.0.1",
        **settings,
    }
    app = create_app(settings_for(url, **values), session_factory=make_sessionmaker(engine))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return app, engine, result.output


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve `app` on a free loopback port for the duration of the block."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(
    page: Page, base: str, username: str, password: str, landing: str, english: bool = True
) -> None:
    """Sign in through the real form (accepting the pledge on a first sign-in; setting up
    two-factor sign-in on the pages where the role requires it, then typing codes computed
    from the key the page showed), land on `landing`, and switch the page to English unless
    asked to stay in Arabic."""
    page.goto(f"{base}/sign-in?next={landing}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    for _ in range(4):  # the pledge, enrolment or the code, then the landing page
        if "/pledge" in page.url:
            page.check("input[name=accept]")
            page.click("main button[type=submit]")
        elif "/console/second-factor" in page.url:
            enrol_in_page(page, base, username)
        elif "/sign-in/code" in page.url:
            phone = second_factor.browser_phone(base, username)
            assert phone is not None, f"{username} has a second factor these tests did not set up"
            page.fill("#code", phone.code())
            page.click("main button[type=submit]")
    assert page.url.endswith(landing)
    if english:
        page.click("a[hreflang=en]")


def enrol_in_page(page: Page, base: str, username: str) -> second_factor.Authenticator:
    """Set up two-factor sign-in as a person would: the key read off the page, a first code,
    the recovery codes kept, then on."""
    secret = (page.text_content("#secret") or "").replace(" ", "")
    phone = second_factor.Authenticator(secret)
    page.fill("#code", phone.code())
    page.click("main button[type=submit]")
    phone.recovery = page.locator("#recovery-codes code").all_text_contents()
    assert len(phone.recovery) == 10
    second_factor.remember_in_browser(base, username, phone)
    page.click("#continue")
    return phone


class JobsALittleLater:
    """A job runner that runs each job a moment after it is queued, in a thread, as a busy
    worker would: a page that follows the work (a progress page) is seen before it is done."""

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
