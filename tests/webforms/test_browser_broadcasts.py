"""In a real headless Chromium with JavaScript off: the demo focal point writes an information
SMS, reads the audience, segments and cost, confirms, and watches the progress page refresh
itself from "being sent" to "sent" while a worker owes the SMS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.geography import resolve_area
from core.messages import Direction, Message, MessageStatus
from core.users import StaffUser
from tests.support.browser import (
    JobsALittleLater,
    chromium,
    demo_service,
    live_server,
    sign_in,
)

pytestmark = pytest.mark.browser


def residents_texted(session: Session, count: int) -> None:
    """`count` numbers of the demo focal point's municipality texted 1766."""
    focal = session.scalars(select(StaffUser).where(StaffUser.username == "demo-focal")).one()
    area = resolve_area(session, focal.area.code)
    for n in range(count):
        message = Message(
            direction=Direction.INBOUND,
            phone=f"+9617190{n:04d}",
            body="INFO",
            status=MessageStatus.RECEIVED,
        )
        message.place_in(area)
        session.add(message)
    session.commit()


def test_a_focal_point_informs_its_residents_without_javascript(tmp_path: Path) -> None:
    app, engine, output = demo_service(tmp_path)
    worker = JobsALittleLater(app.extensions["intake.jobs"], delay=2.0)
    app.extensions["intake.jobs"] = worker
    password = re.search(r"demo-focal\s+(\S+)\s+focal_point", output)
    assert password, output
    with Session(engine) as session:
        residents_texted(session, 5)
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 640}, java_script_enabled=False)
        sign_in(page, base, "demo-focal", password.group(1), "/console")
        page.click("text=Information SMS to residents")
        assert page.url.endswith("/console/broadcasts")
        assert "It would reach" in page.inner_text("#audience")
        page.fill("#text", "The aid programme is open until 30 April. Call 1766, free of charge.")
        page.select_option("#language", "en")
        page.click("#write-form button[type=submit]")

        assert re.search(r"/console/broadcasts/\d+\?done=written$", page.url)
        assert page.inner_text("#segments") == "1 (GSM-7)"
        sendable = int(page.inner_text("#sendable"))
        assert sendable >= 5
        assert page.inner_text("#total-segments") == str(sendable)
        assert page.inner_text("#cost").startswith("USD ")
        page.click("#send-form button")

        assert page.inner_text("#state") == "Being sent"
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        page.wait_for_selector("#state:text-is('Sent')", timeout=20_000)
        assert page.inner_text("#owed") == str(sendable)  # in the outbox, at the gateway's pace
        assert page.locator('meta[http-equiv="refresh"]').count() == 0
    for timer in worker.timers:
        timer.join(timeout=10)
    engine.dispose()
