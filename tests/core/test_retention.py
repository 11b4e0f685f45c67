"""Retention: drafts, delivered SMS texts and recordings go after their periods, not a day
before; live links and applications keep everything; `housekeeping` says how many went."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.callback_requests import CallbackRequest, request_callback
from core.db import utcnow
from core.link_lifecycle import issue_link
from core.links import Channel, Link, save_page
from core.messages import Direction, Message, MessageStatus
from core.messaging_settings import MessagingSettings
from core.programme import set_window
from core.retention import BODY_DELETED, EMPTY_DRAFT, delete_bodies, forget_drafts
from core.tickets import Ticket, TicketCategory, TicketChannel, TicketStatus, decide, open_ticket
from tests.support.factories import load_sample_geography
from tests.support.households import submitted

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
PAGE = {"members": 5, "head_name": "سمير"}
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{n}"


@dataclass
class Store:
    start: datetime
    expired: Link  # never used, expires a week after `start`
    revoked: Link  # replaced at `start` by `replacing`
    replacing: Link  # never used either: expires with `expired`
    live: Link  # still usable long after the others
    application: Application
    delivered: Message
    later: Message  # delivered 60 days after `start`
    undelivered: Message
    inbound: Message
    decided: Ticket
    open: Ticket
    callback: CallbackRequest


def _link(db: Session, phone: str | None, ttl_days: int = 7) -> Link:
    link, _token = issue_link(db, None, phone, "ar", Channel.HOTLINE, ttl_days)
    save_page(link, "household", PAGE)
    return link


def _message(db: Session, direction: Direction, status: MessageStatus, at: datetime) -> Message:
    body = "1766: fill the form once, here: https://x/f/<link 1>"
    message = Message(
        direction=direction,
        phone="+9613000111",
        body=body,
        purpose="form_link" if direction is Direction.OUTBOUND else "",
        status=status,
        segments=2,
        created_at=at,
        updated_at=at,
    )
    db.add(message)
    return message


def _ticket(db: Session, n: int) -> Ticket:
    return open_ticket(
        db,
        phone=f"+96170{n:06d}",
        channel=TicketChannel.IVR,
        language="ar",
        category=TicketCategory.ELIGIBILITY,
        recording_url=RECORDING.format(n=n),
    )


@pytest.fixture
def aged(db: Session, clock: ModuleType) -> Store:
    """One of each kind of personal data with a retention period, made at `start`."""
    start = utcnow()
    clock.freeze(start)
    load_sample_geography(db)
    set_window(db, start - DAY, start + 100 * DAY, "test")  # a link lives until the round closes
    revoked = _link(db, "+9613000222")
    replacing = _link(db, "+9613000222")  # a newer link to the same phone revokes the first
    expired, live = _link(db, "+9613000333"), _link(db, None, ttl_days=60)
    application = submitted(db, 1)
    later = _message(db, Direction.OUTBOUND, MessageStatus.DELIVERED, start + 60 * DAY)
    stored = Store(
        start,
        expired,
        revoked,
        replacing,
        live,
        application,
        _message(db, Direction.OUTBOUND, MessageStatus.DELIVERED, start),
        later,
        _message(db, Direction.OUTBOUND, MessageStatus.UNDELIVERED, start),
        _message(db, Direction.INBOUND, MessageStatus.RECEIVED, start),
        _ticket(db, 1),
        _ticket(db, 2),
        request_callback(
            db, phone="+9613000444", language="ar", town_recording_url=RECORDING.format(n=3)
        ),
    )
    decide(db, stored.decided, TicketStatus.RESOLVED, "Called back.", "agent")
    db.commit()
    return stored


def housekeeping(runner: FlaskCliRunner) -> dict[str, int]:
    result = runner.invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    lines = (line.rsplit(": ", 1) for line in result.output.splitlines())
    return {kind: int(count) for kind, count in lines}


def fresh(db: Session, row: object) -> None:
    db.expire_all()
    db.refresh(row)


def test_drafts_go_after_their_period_and_a_live_link_keeps_its_own(
    db: Session, runner: FlaskCliRunner, clock: ModuleType, aged: Store
) -> None:
    data_before = aged.application.data
    fresh(db, aged.revoked)
    assert aged.revoked.revoked_at is not None and aged.revoked.pages() == {"household": PAGE}

    clock.freeze(aged.start + 30 * DAY - SECOND)
    assert housekeeping(runner)["drafts"] == 0  # revoked 30 days ago, less a second: kept
    clock.freeze(aged.start + 30 * DAY + SECOND)
    assert housekeeping(runner)["drafts"] == 1
    fresh(db, aged.revoked)
    fresh(db, aged.expired)
    assert aged.revoked.draft == EMPTY_DRAFT and aged.expired.pages() == {"household": PAGE}

    clock.freeze(aged.start + 37 * DAY + SECOND)  # expired 30 days ago
    assert housekeeping(runner)["drafts"] == 2  # the expired one and the one that replaced it
    assert housekeeping(runner)["drafts"] == 0  # a second run finds nothing left
    for link in (aged.expired, aged.replacing, aged.live):
        fresh(db, link)
    assert aged.expired.draft == aged.replacing.draft == EMPTY_DRAFT
    assert aged.expired.phone == "+9613000333"  # the row stays, for the counts
    assert aged.live.is_usable() and aged.live.pages() == {"household": PAGE}
    fresh(db, aged.application)
    assert aged.application.data == data_before and json.loads(data_before)


def test_delivered_texts_go_after_their_period_and_the_row_stays(
    db: Session, runner: FlaskCliRunner, clock: ModuleType, aged: Store
) -> None:
    clock.freeze(aged.start + 90 * DAY - SECOND)
    assert housekeeping(runner)["message bodies"] == 0
    clock.freeze(aged.start + 90 * DAY + SECOND)
    assert housekeeping(runner)["message bodies"] == 1
    assert housekeeping(runner)["message bodies"] == 0
    for message in (aged.delivered, aged.later, aged.undelivered, aged.inbound):
        fresh(db, message)
    assert aged.delivered.body == BODY_DELETED
    kept = (aged.delivered.purpose, aged.delivered.status, aged.delivered.segments)
    assert kept == ("form_link", MessageStatus.DELIVERED, 2)
    assert aged.delivered.updated_at == aged.start  # still says when it was delivered
    assert all("<link 1>" in m.body for m in (aged.later, aged.undelivered, aged.inbound))


def test_recordings_go_after_their_period_an_open_complaint_keeps_its_own(
    db: Session, runner: FlaskCliRunner, clock: ModuleType, aged: Store
) -> None:
    clock.freeze(aged.start + 180 * DAY - SECOND)
    counts = housekeeping(runner)
    assert (counts["complaint recordings"], counts["call-back recordings"]) == (0, 0)
    clock.freeze(aged.start + 180 * DAY + SECOND)
    counts = housekeeping(runner)
    assert (counts["complaint recordings"], counts["call-back recordings"]) == (1, 1)
    for row in (aged.decided, aged.open, aged.callback):
        fresh(db, row)
    assert aged.decided.recording_url is None and aged.callback.town_recording_url is None
    assert aged.open.recording_url == RECORDING.format(n=2)
    assert aged.decided.resolution == "Called back."  # the complaint itself stays


def test_housekeeping_reports_every_kind(runner: FlaskCliRunner, db: Session) -> None:
    kinds = set(housekeeping(runner))
    assert kinds == {
        "throttle counts",
        "webhook replies",
        "status codes",
        "drafts",
        "message bodies",
        "complaint recordings",
        "call-back recordings",
    }


def test_work_is_done_in_batches_that_resume_where_they_stopped(
    db: Session, clock: ModuleType, aged: Store
) -> None:
    settings = MessagingSettings(draft_retention_days=1, message_body_retention_days=1)
    now = aged.start + 40 * DAY
    first = forget_drafts(db, settings, now, 0, 1)
    assert first.changed == 1 and first.last_id is not None
    rest = forget_drafts(db, settings, now, first.last_id, 10)
    assert rest.changed == 2 and forget_drafts(db, settings, now, 0, 10).last_id is None
    assert db.scalar(select(Link.draft).where(Link.id == aged.live.id)) != EMPTY_DRAFT

    # A text whose new try is still owed keeps its text until that try is sent.
    retry = _message(db, Direction.OUTBOUND, MessageStatus.PENDING, aged.start)
    retry.resend_of = aged.delivered.id
    db.flush()
    assert delete_bodies(db, settings, now, 0, 10).changed == 0
    retry.status = MessageStatus.SENT
    db.flush()
    assert delete_bodies(db, settings, now, 0, 10).changed == 1
