"""A recording past its retention period is deleted at Twilio (through the real library, against
the fake Twilio) before the store forgets its address; one Twilio would not delete stays listed
and goes at the next run."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.callback_requests import request_callback
from core.db import utcnow
from core.tickets import Ticket, TicketCategory, TicketChannel, TicketStatus, decide, open_ticket
from tests.plugins.fake_twilio import ACCOUNT_SID, RECORDINGS, FakeTwilio
from tests.support.twilio_requests import twilio_settings

RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{{sid}}"
ELSEWHERE = "https://api.twilio.com/2010-04-01/Accounts/AC" + "1" * 32 + "/Recordings/RE99"


@pytest.fixture
def recording_app(
    engine: Engine, session_factory: sessionmaker[Session], fake_twilio: FakeTwilio
) -> Flask:
    settings = twilio_settings(engine, twilio_api_base_url=fake_twilio.url)
    app = create_app(settings, session_factory=session_factory)
    app.config["TESTING"] = True
    return app


def _complaint(db: Session, n: int, url: str) -> Ticket:
    ticket = open_ticket(
        db,
        phone=f"+96170{n:06d}",
        channel=TicketChannel.IVR,
        language="ar",
        category=TicketCategory.INFORMATION,
        recording_url=url,
    )
    decide(db, ticket, TicketStatus.RESOLVED, "Answered.", "agent")
    return ticket


def _recordings_forgotten(runner: FlaskCliRunner) -> tuple[int, int]:
    result = runner.invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    counts = dict(line.rsplit(": ", 1) for line in result.output.splitlines())
    return int(counts["complaint recordings"]), int(counts["call-back recordings"])


def test_twilio_deletes_the_recording_before_the_store_forgets_it(
    recording_app: Flask, db: Session, clock: ModuleType, fake_twilio: FakeTwilio
) -> None:
    start = utcnow()
    clock.freeze(start)
    complaint = _complaint(db, 1, RECORDING.format(sid="RE0123abcd"))
    other_account = _complaint(db, 2, ELSEWHERE)  # not this account's: nothing to delete
    callback = request_callback(
        db, phone="+9613000444", language="ar", town_recording_url=RECORDING.format(sid="RE0456")
    )
    db.commit()
    fake_twilio.deleted_recordings.add("RE0456")  # deleted in Twilio's console already: a 404
    runner = recording_app.test_cli_runner()

    clock.freeze(start + timedelta(days=180) - timedelta(seconds=1))
    assert _recordings_forgotten(runner) == (0, 0)
    assert not any(method == "DELETE" for method, _path in fake_twilio.requests)

    clock.freeze(start + timedelta(days=180, seconds=1))
    fake_twilio.fail_next(1, status=500, code=20500, method="DELETE", resource=RECORDINGS)
    assert _recordings_forgotten(runner) == (1, 1)  # Twilio failed on the first: it stays
    db.expire_all()
    assert complaint.recording_url is not None
    assert other_account.recording_url is None and callback.town_recording_url is None

    assert _recordings_forgotten(runner) == (1, 0)  # the next run deletes it
    assert "RE0123abcd" in fake_twilio.deleted_recordings
    db.expire_all()
    assert complaint.recording_url is None
    assert _recordings_forgotten(runner) == (0, 0)
