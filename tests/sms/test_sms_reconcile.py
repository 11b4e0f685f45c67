"""`sms reconcile`: inbound SMS the buffer lost (or never got) are read back from Twilio's log
and decided once; what the store has is left alone; a bad window or an unreachable Twilio is
one clear line and exit 1.

Twilio's log is the fake Twilio's (`receive` logs an inbound SMS as Twilio would, without
posting the webhook); the messages' Twilio-side times are the machine's, so the windows here
are durations back from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import Result
from flask import Flask
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from cli import reconcile as reconcile_command
from core import inbox
from core.messages import Direction, Message, MessageStatus
from sms.buffer import STREAM
from sms.reconcile import MessageLog, reconcile
from tests.conftest import settings_for
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.twilio_requests import HOTLINE, post_signed, twilio_settings
from web.store import unit_of_work
from web.twilio_rest import make_client

CITIZENS = ("+9613123456", "+96171234567", "+9613999888")
HELP_REPLY = "1766: send LINK for a form"


def service(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeTwilio, **overrides: object
) -> Flask:
    """The service on Twilio: citizens text HOTLINE, its REST calls reach `fake`."""
    values: dict[str, object] = {"twilio_from_number": HOTLINE, "twilio_api_base_url": fake.url}
    values.update(overrides)
    reconciling_app = create_app(twilio_settings(engine, **values), session_factory=session_factory)
    reconciling_app.config["TESTING"] = True
    return reconciling_app


@pytest.fixture
def reconciling_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
) -> Flask:
    """Without Redis (the embedded defaults): what is ingested is decided by the command."""
    return service(engine, session_factory, fake_twilio)


def run(reconciling_app: Flask, *args: str) -> Result:
    return reconciling_app.test_cli_runner().invoke(args=["sms", "reconcile", *args])


def said(result: Result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def refused(result: Result) -> str:
    """One line on the terminal, exit 1, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def decided(db: Session, sids: list[str]) -> dict[str, int]:
    """How many times each MessageSid is in the message log as received."""
    db.expire_all()
    rows = db.execute(
        select(Message.provider_sid, func.count())
        .where(Message.provider_sid.in_(sids), Message.direction == Direction.INBOUND)
        .group_by(Message.provider_sid)
    )
    return {sid: count for sid, count in rows if sid}


def waiting(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(inbox.PendingSms)) or 0)


def replies_to(fake: FakeTwilio, phone: str) -> list[str]:
    return [m["body"] for m in fake.messages if m["to"] == phone]


# -- the buffer lost or never reached -----------------------------------------------------


def test_messages_that_never_reached_the_service_are_brought_back_once(
    reconciling_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    sids = [fake_twilio.receive(phone, HOTLINE, "HELP") for phone in CITIZENS]

    assert "found 3, already known 0, ingested 3, decided 3" in said(
        run(reconciling_app, "--since", "1h")
    )

    assert decided(db, sids) == dict.fromkeys(sids, 1)
    assert waiting(db) == 0
    for phone in CITIZENS:  # each citizen got the one answer their SMS asked for
        assert [body.startswith(HELP_REPLY) for body in replies_to(fake_twilio, phone)] == [True]

    again = said(run(reconciling_app, "--since", "1h"))
    assert "found 3, already known 3, ingested 0" in again
    assert "decided" not in again
    assert decided(db, sids) == dict.fromkeys(sids, 1)
    assert len(fake_twilio.messages) == 3  # and nobody was answered twice


def test_messages_already_decided_or_waiting_are_not_ingested_again(
    reconciling_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    answered, kept, lost = (fake_twilio.receive(phone, HOTLINE, "HELP") for phone in CITIZENS)
    db.add(  # decided by the service when it came in
        Message(
            direction=Direction.INBOUND,
            phone=CITIZENS[0],
            body="HELP",
            status=MessageStatus.RECEIVED,
            provider_sid=answered,
        )
    )
    moment = datetime.now(UTC)  # waiting in the inbox (the webhook's fallback kept it)
    inbox.keep(db, inbox.RawSms(kept, CITIZENS[1], HOTLINE, "HELP", moment), "fallback")
    db.commit()

    line = said(run(reconciling_app, "--since", "30m"))

    assert "found 3, already known 2, ingested 1" in line
    assert decided(db, [answered, kept, lost]) == {answered: 1, kept: 1, lost: 1}
    assert replies_to(fake_twilio, CITIZENS[0]) == []  # its answer went out when it came in


def test_the_buffer_lost_entirely_is_brought_back_once(
    engine: Engine,
    session_factory: sessionmaker[Session],
    db: Session,
    fake_twilio: FakeTwilio,
    redis_url: str,
) -> None:
    """The webhook buffered every SMS in Redis; Redis lost them all before any was decided."""
    redis = Redis.from_url(redis_url)
    redis.delete(STREAM)
    reconciling_app = service(engine, session_factory, fake_twilio, redis_url=redis_url)
    client = reconciling_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    sids = []
    try:
        for phone in CITIZENS:
            sid = fake_twilio.receive(phone, HOTLINE, "HELP")  # Twilio logs it, then posts it
            form = {"MessageSid": sid, "From": phone, "To": HOTLINE, "Body": "HELP"}
            assert post_signed(client, "/sms/inbound", form).status_code == 200
            sids.append(sid)
        assert redis.xlen(STREAM) == 3
        redis.delete(STREAM)  # lost: flushed, or a restart without persistence

        assert "found 3, already known 0, ingested 3" in said(run(reconciling_app, "--since", "2h"))
        assert waiting(db) == 3  # in the inbox, once each, for the consumers
        consumed = reconciling_app.test_cli_runner().invoke(args=["sms", "consume", "--once"])
        assert consumed.exit_code == 0, consumed.output

        assert decided(db, sids) == dict.fromkeys(sids, 1)
        assert waiting(db) == 0
        assert "found 3, already known 3, ingested 0" in said(run(reconciling_app, "--since", "2h"))
        assert waiting(db) == 0
    finally:
        redis.delete(STREAM)
        for key in redis.scan_iter("rq:*"):  # the replies the consumer queued for a worker
            redis.delete(key)


def test_a_message_still_in_the_buffer_when_a_run_passes_is_decided_once(
    engine: Engine,
    session_factory: sessionmaker[Session],
    db: Session,
    fake_twilio: FakeTwilio,
    redis_url: str,
) -> None:
    """The scheduled run meets an SMS the consumers have not reached yet: two copies, one
    decision, one reply owed."""
    redis = Redis.from_url(redis_url)
    redis.delete(STREAM)
    reconciling_app = service(engine, session_factory, fake_twilio, redis_url=redis_url)
    client = reconciling_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    try:
        sid = fake_twilio.receive(CITIZENS[0], HOTLINE, "HELP")
        form = {"MessageSid": sid, "From": CITIZENS[0], "To": HOTLINE, "Body": "HELP"}
        assert post_signed(client, "/sms/inbound", form).status_code == 200

        assert "found 1, already known 0, ingested 1" in said(run(reconciling_app, "--since", "2h"))
        assert redis.xlen(STREAM) == 1 and waiting(db) == 1
        consumed = reconciling_app.test_cli_runner().invoke(args=["sms", "consume", "--once"])
        assert consumed.exit_code == 0, consumed.output

        assert decided(db, [sid]) == {sid: 1}
        assert waiting(db) == 0 and redis.xlen(STREAM) == 0
        db.expire_all()
        owed = db.scalars(
            select(Message).where(
                Message.direction == Direction.OUTBOUND, Message.phone == CITIZENS[0]
            )
        ).all()
        assert len(owed) == 1  # one reply, not two
    finally:
        redis.delete(STREAM)
        for key in redis.scan_iter("rq:*"):
            redis.delete(key)


# -- the window, the numbers, the pages ---------------------------------------------------


def test_only_inbound_messages_to_our_numbers_inside_the_window_are_read(
    reconciling_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    inside = fake_twilio.receive(CITIZENS[0], HOTLINE, "HELP")
    before = fake_twilio.receive(
        CITIZENS[1], HOTLINE, "HELP", at=datetime.now(UTC) - timedelta(hours=3)
    )
    elsewhere = fake_twilio.receive(CITIZENS[2], "+15550001111", "HELP")  # another number's

    line = said(run(reconciling_app, "--since", "2h"))

    assert "found 1, already known 0, ingested 1" in line
    assert decided(db, [inside, before, elsewhere]) == {inside: 1}
    # the service's reply is in the same log now, to the citizen: it is not counted
    assert "found 1, already known 1, ingested 0" in said(run(reconciling_app, "--since", "2h"))
    # a wider window reaches the older one
    assert "found 2, already known 1, ingested 1" in said(run(reconciling_app, "--since", "4h"))


def test_to_names_the_numbers_read(
    reconciling_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    other = fake_twilio.receive(CITIZENS[0], "+15550001111", "HELP")
    ours = fake_twilio.receive(CITIZENS[1], HOTLINE, "HELP")

    line = said(run(reconciling_app, "--since", "90m", "--to", "+15550001111", "--to", HOTLINE))

    assert "found 2, already known 0, ingested 2" in line
    assert decided(db, [other, ours]) == {other: 1, ours: 1}


def test_with_a_messaging_service_only_its_inbound_messages_are_read(
    engine: Engine,
    session_factory: sessionmaker[Session],
    db: Session,
    fake_twilio: FakeTwilio,
) -> None:
    service_sid = "MG" + "1" * 32
    reconciling_app = service(
        engine,
        session_factory,
        fake_twilio,
        twilio_from_number=None,
        twilio_messaging_service_sid=service_sid,
    )
    ours = fake_twilio.receive(CITIZENS[0], HOTLINE, "HELP", messaging_service_sid=service_sid)
    theirs = fake_twilio.receive(CITIZENS[1], "+15550001111", "HELP", messaging_service_sid="MG2")

    assert "found 1, already known 0, ingested 1" in said(run(reconciling_app, "--since", "1h"))
    assert decided(db, [ours, theirs]) == {ours: 1}


def test_the_log_is_read_page_by_page_up_to_the_limit(
    reconciling_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    sids = [fake_twilio.receive(f"+961312{n:04d}", HOTLINE, "HELP") for n in range(7)]
    log = MessageLog.from_settings(reconciling_app.config["INTAKE_SETTINGS"])
    since = datetime.now(UTC) - timedelta(hours=1)

    with reconciling_app.app_context():
        first = reconcile(log, unit_of_work, since, limit=5, page_size=2)
        rest = reconcile(log, unit_of_work, since, limit=100, page_size=2)

    assert (first.found, first.ingested, first.limited) == (5, 5, True)  # the newest five
    assert (rest.found, rest.known, rest.ingested, rest.limited) == (7, 5, 2, False)
    db.expire_all()
    assert set(db.scalars(select(inbox.PendingSms.sid))) == set(sids)
    pages = [path for method, path in fake_twilio.requests if method == "GET"]
    assert len(pages) == 3 + 4  # 2+2+1 of the limited read, then 2+2+2+1


def test_a_run_stopped_by_the_limit_says_so(
    reconciling_app: Flask, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconcile_command, "PAGE_SIZE", 2)
    for n in range(3):
        fake_twilio.receive(f"+961312{n:04d}", HOTLINE, "HELP")

    line = said(run(reconciling_app, "--since", "1h", "--limit", "2"))

    assert "found 2, already known 0, ingested 2" in line
    assert "stopped at --limit" in line


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "since", ["yesterday", "2", "0h", "90", "6 h", "2w", "-2h", "2026-13-01", "12:00", ""]
)
def test_a_malformed_since_is_one_clear_line(reconciling_app: Flask, since: str) -> None:
    line = refused(run(reconciling_app, "--since", since))
    assert "--since" in line
    assert "90m, 6h or 2d" in line


def test_since_in_the_future_is_refused(reconciling_app: Flask) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert "is in the future" in refused(run(reconciling_app, "--since", tomorrow))


def test_an_iso_since_reads_from_that_moment(
    reconciling_app: Flask, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.receive(CITIZENS[0], HOTLINE, "HELP")
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert "found 1, already known 0, ingested 1" in said(run(reconciling_app, "--since", earlier))


def test_every_needs_a_duration(reconciling_app: Flask) -> None:
    line = refused(run(reconciling_app, "--since", "2026-12-01T08:00", "--every", "600"))
    assert "--every needs --since as a duration" in line


def test_twilio_down_is_one_clear_line(
    reconciling_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.receive(CITIZENS[0], HOTLINE, "HELP")
    fake_twilio.stop()

    line = refused(run(reconciling_app, "--since", "1h"))

    assert "Twilio could not be reached (ConnectionError)" in line
    assert waiting(db) == 0


def test_twilio_refusing_the_list_is_one_clear_line_without_the_number(
    reconciling_app: Flask, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.receive(CITIZENS[0], HOTLINE, "HELP")
    fake_twilio.fail_next(method="GET", status=500, code=20500)

    line = refused(run(reconciling_app, "--since", "1h"))

    assert "Twilio refused to list messages (HTTP 500, code 20500)" in line
    assert HOTLINE not in line


def test_a_service_without_twilio_has_no_log_to_read() -> None:
    reconciling_app = create_app(settings_for("sqlite://"))
    assert "there is no Twilio log to read" in refused(run(reconciling_app, "--since", "1h"))


# -- the fake's list, as the gateway reads it ---------------------------------------------


def test_the_fake_lists_inbound_and_outbound_newest_first_in_pages(
    fake_twilio: FakeTwilio,
) -> None:
    client = make_client(fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.url, 5.0)
    sent = client.messages.create(to=CITIZENS[0], from_=HOTLINE, body="hello")
    got = [fake_twilio.receive(CITIZENS[0], HOTLINE, f"n{n}") for n in range(4)]

    to_us = client.messages.list(to=HOTLINE, page_size=3)
    to_them = client.messages.list(to=CITIZENS[0], limit=5)

    assert [m.sid for m in to_us] == got[::-1]
    assert {str(m.direction) for m in to_us} == {"inbound"}
    assert [m.sid for m in to_them] == [sent.sid]
    assert fake_twilio.messages[0]["sid"] == sent.sid and len(fake_twilio.messages) == 1
    assert [m["sid"] for m in fake_twilio.inbound] == got
