"""In a real headless Chromium: a complaint from an IVR recording becomes a correction that
the agent who logged it cannot approve, a committee member approves it, the application gets
version 2 with version 1 kept, a new score is owed and made, and the citizen's SMS reaches
Twilio."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from core.applications import Application, versions_of
from core.db import make_sessionmaker
from core.settings import SmsBackend
from core.tickets import TicketCategory, open_ticket
from scoring.scores import latest_score
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, RECORDING_MP3, FakeTwilio
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.households import submitted

pytestmark = pytest.mark.browser
CITIZEN = "+9613123456"
RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE42cafe"


@pytest.fixture
def room_site(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> Iterator[tuple[str, dict[str, str], Flask, Session]]:
    app, engine, output = demo_service(
        tmp_path,
        sms_backend=SmsBackend.TWILIO,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number="+15005550006",
        twilio_api_base_url=fake_twilio.url,
    )
    passwords = dict(re.findall(r"(demo-agent|demo-committee)\s+(\S+)", output))
    db = make_sessionmaker(engine)()
    with live_server(app) as base:
        yield base, passwords, app, db
    db.close()
    engine.dispose()


def test_a_recorded_complaint_becomes_an_approved_correction(
    room_site: tuple[str, dict[str, str], Flask, Session], fake_twilio: FakeTwilio
) -> None:
    base, passwords, _app, db = room_site
    application = submitted(db, 1, phone=CITIZEN)
    ticket = open_ticket(
        db,
        phone=CITIZEN,
        channel="ivr",
        language="ar",
        category=TicketCategory.CORRECTION,
        recording_url=RECORDING,
    )
    db.commit()
    version_one = application.data

    with chromium() as browser:
        agent = browser.new_context().new_page()
        sign_in(agent, base, "demo-agent", passwords["demo-agent"], "/hotline")
        agent.click(f"tr[data-number='{ticket.number}'] a")
        assert agent.inner_text("#ticket-number") == f"{ticket.number[:4]} {ticket.number[4:]}"
        audio = agent.locator("audio").get_attribute("src")
        assert audio is not None
        played = agent.context.request.get(base + audio)
        assert (played.status, played.body()) == (200, RECORDING_MP3)
        assert "200000001" in agent.inner_text("#application-values")

        agent.select_option("#field-0", "members-0-id_number")
        agent.fill("#new-0", "300000001")
        agent.fill("#reason-0", "The spouse's ID was mistyped")
        agent.fill("#proof-0", "ID card shown at the municipality")
        agent.click("text=Log the correction")
        assert "logged for the committee" in agent.inner_text("main")
        card = agent.locator(".correction")
        assert card.get_attribute("data-status") == "pending"
        assert "300000001" in card.inner_text() and "200000001" in card.inner_text()
        # The agent who logged it has no way to approve it, not even by posting the form.
        assert agent.locator("button[value=approve]").count() == 0
        token = agent.locator("input[name=csrf_token]").first.get_attribute("value")
        forged = agent.context.request.post(
            f"{base}/hotline/corrections/1/decide",
            form={"decision": "approve", "csrf_token": token or ""},
        )
        assert forged.status == 403

        committee = browser.new_context().new_page()
        sign_in(committee, base, "demo-committee", passwords["demo-committee"], "/hotline")
        committee.click("text=Corrections")
        committee.click("tr.correction-row a")
        committee.click("button[value=approve]")
        assert "citizen is told by SMS" in committee.inner_text("main")
        assert committee.locator(".correction").get_attribute("data-status") == "approved"
        assert committee.locator("#ticket-status").get_attribute("data-status") == "resolved"

    db.expire_all()
    corrected = db.get(Application, application.id)
    assert corrected is not None and corrected.version == 2
    assert corrected.pages()["family"]["members"][0]["id_number"] == "300000001"
    (kept,) = versions_of(db, application.id)
    assert (kept.version, kept.data) == (1, version_one)
    # The approval owed a score of version 2, and the worker (inline here) has scored it.
    rescored = latest_score(db, application.id)
    assert rescored is not None and rescored.version == 2
    sms = [m["body"] for m in fake_twilio.messages if m["to"] == CITIZEN]
    assert len(sms) == 1 and application.reference[:3] in sms[0]
