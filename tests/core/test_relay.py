"""The relay and the senders: owed SMS reach Twilio through RQ once, at the configured rate,
through a storm of 429s, and a form post never needs Redis (real Redis, the fake Twilio)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import sms.jobs
from assembly.app import create_app
from assembly.jobs import JOBS
from core.applications import Application
from core.messages import Message, MessageStatus
from core.notifications import Sms, owe_text
from core.queue import JobContext, RedisRunner, RelayedRunner, use_job_context
from core.relay import relay_once
from core.sms_policy import Occasion
from core.users import StaffUser
from sms.send_rate import SendRate
from sms.twilio_backend import TwilioBackend
from tests.conftest import settings_for
from tests.plugins.citizen_forms import fill, newest_token, send_link
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.factories import PASSWORD
from tests.support.households import pages, submitted
from tests.support.rq_worker import work_through
from tests.support.staff_web import sign_in
from tests.support.twilio_requests import twilio_settings

SENDER = "+15005550006"


@pytest.fixture
def senders(
    app: Flask,
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
    redis_url: str,
    queue_prefix: str,
) -> Iterator[RedisRunner]:
    """Jobs on this test's queues; the send job's gateway is Twilio (the fake) at 5 a second,
    paced through Redis, with short pauses after a 429."""
    settings = twilio_settings(engine, twilio_api_base_url=fake_twilio.url, redis_url=redis_url)
    use_job_context(JobContext(settings, session_factory))
    pace = SendRate(Redis.from_url(redis_url), SENDER, 5, prefix=queue_prefix)
    backend = TwilioBackend.from_settings(settings, delays=(0.01, 0.01, 0.01), pace=pace)
    sms.jobs.use_gateway(backend)
    yield RedisRunner(redis_url, prefix=queue_prefix, jobs=JOBS)


def owe(db: Session, count: int) -> list[int]:
    ids = [
        owe_text(db, Sms(f"+96170{n:06d}", f"receipt {n}", "en", "receipt"), Occasion.ANSWER)
        for n in range(count)
    ]
    db.commit()
    return [owing.message_id for owing in ids]


def work(runner: RedisRunner, redis_url: str) -> None:
    """The Procfile's worker class, in this process, until the queue is empty."""
    work_through([runner.queue("sms")], Redis.from_url(redis_url))


def statuses(db: Session, ids: list[int]) -> Counter[str]:
    db.expire_all()
    return Counter(db.scalars(select(Message.status).where(Message.id.in_(ids))))


def test_owed_sms_are_relayed_once_and_sent_once_by_a_simple_worker(
    db: Session,
    session_factory: sessionmaker[Session],
    senders: RedisRunner,
    fake_twilio: FakeTwilio,
    redis_url: str,
) -> None:
    ids = owe(db, 12)
    assert relay_once(session_factory, senders).messages == 12
    assert relay_once(session_factory, senders).messages == 0  # marked: not queued twice
    assert senders.queue("sms").count == 1  # one job for the batch: two commits, not 24
    work(senders, redis_url)
    assert statuses(db, ids) == {MessageStatus.QUEUED: 12}
    assert sorted(fake_twilio.received_bodies()) == sorted(f"receipt {n}" for n in range(12))


def test_the_send_rate_is_shared_and_honoured(
    db: Session,
    session_factory: sessionmaker[Session],
    senders: RedisRunner,
    fake_twilio: FakeTwilio,
    redis_url: str,
) -> None:
    owe(db, 16)
    relay_once(session_factory, senders)
    work(senders, redis_url)
    per_second = Counter(message["date_created"] for message in fake_twilio.messages)
    assert sum(per_second.values()) == 16
    assert max(per_second.values()) <= 5  # SMS_MAX_PER_SECOND of this sender
    assert len(per_second) >= 4  # 16 at 5 a second take four windows at least


def test_a_storm_of_429s_sends_every_sms_once_later(
    db: Session,
    session_factory: sessionmaker[Session],
    senders: RedisRunner,
    fake_twilio: FakeTwilio,
    redis_url: str,
    clock: ModuleType,
) -> None:
    ids = owe(db, 6)
    fake_twilio.fail_next(24, status=429, code=20429)  # Twilio refuses everything for a while
    relay_once(session_factory, senders)
    work(senders, redis_url)
    first = statuses(db, ids)
    assert first[MessageStatus.PENDING] >= 1  # back in the outbox, owed later
    owed_again = db.scalars(select(Message).where(Message.status == MessageStatus.PENDING))
    assert all(m.attempts == 0 for m in owed_again)  # a storm uses up no attempts
    assert relay_once(session_factory, senders).messages == 0  # not yet due again

    for _ in range(5):  # the storm passes; each round what is owed again is due a minute on
        clock.freeze(clock.now() + timedelta(minutes=1))
        relay_once(session_factory, senders)
        work(senders, redis_url)
    assert statuses(db, ids) == {MessageStatus.QUEUED: 6}
    sent = fake_twilio.received_bodies()
    assert sorted(sent) == sorted(f"receipt {n}" for n in range(6))  # each exactly once
    assert fake_twilio.create_attempts() == 24 + 6  # every refusal, and then one send each


def test_a_score_owed_by_a_new_application_is_relayed_once(
    db: Session,
    session_factory: sessionmaker[Session],
    redis_url: str,
    queue_prefix: str,
    open_round: None,
) -> None:
    runner = RedisRunner(redis_url, prefix=queue_prefix, jobs=JOBS)
    application = submitted(db, 5)
    db.commit()
    assert relay_once(session_factory, runner).scores == 1
    assert runner.queue("scoring").job_ids[-1] == f"score-{application.id}-v1"
    assert relay_once(session_factory, runner).scores == 0


def test_with_redis_configured_a_request_leaves_owed_work_to_the_relay(
    app: Flask, redis_url: str
) -> None:
    runner = create_app(settings_for("sqlite://", redis_url=redis_url)).extensions["intake.jobs"]
    assert isinstance(runner, RelayedRunner)
    queue = runner.queue("sms")
    before = queue.count
    runner.enqueue("sms", "sms.jobs.send_message", 1, job_id="sms-test-relayed", new=True)
    assert queue.count == before  # the store owes it; the relay hands it on


def submit_form(
    engine: Engine, session_factory: sessionmaker[Session], db: Session, redis_url: str
) -> str:
    """A focal point texts a link and the family submits, on a service with `redis_url`;
    the page the family is shown."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(settings_for(url, redis_url=redis_url), session_factory=session_factory)
    app.config["TESTING"] = True
    staff: FlaskClient = app.test_client()
    staff.environ_base["wsgi.url_scheme"] = "https"
    sign_in(staff, "focal", PASSWORD)
    assert send_link(staff).status_code == 302
    done = fill(app.test_client(), f"/f/{newest_token(db)}", pages(1))
    assert done.status_code == 200
    return done.get_data(as_text=True)


def test_a_form_posted_while_redis_is_down_is_kept_with_its_acknowledgement_owed(
    engine: Engine,
    session_factory: sessionmaker[Session],
    db: Session,
    focal: StaffUser,
) -> None:
    submit_form(engine, session_factory, db, "redis://127.0.0.1:1/0")
    db.expire_all()
    assert db.scalars(select(Application)).one()
    owed = db.scalars(select(Message.status).where(Message.purpose == "receipt")).all()
    assert owed == [MessageStatus.PENDING]  # committed; the relay sends it once Redis is back


def test_a_form_posted_with_redis_up_is_acknowledged_through_the_relay_once(
    engine: Engine,
    session_factory: sessionmaker[Session],
    db: Session,
    focal: StaffUser,
    senders: RedisRunner,
    fake_twilio: FakeTwilio,
    redis_url: str,
) -> None:
    web_queue = RedisRunner(redis_url).queue("sms")  # where the web app would enqueue
    before = web_queue.count
    submit_form(engine, session_factory, db, redis_url)
    receipt = db.scalars(select(Message).where(Message.purpose == "receipt")).one()
    assert receipt.status == MessageStatus.PENDING and receipt.relayed_at is None
    assert web_queue.count == before  # the requests queued nothing: the store owes it
    link_sms = db.scalars(select(Message.id).where(Message.purpose == "form_link")).all()
    assert relay_once(session_factory, senders).messages == len(link_sms) + 1
    assert relay_once(session_factory, senders).messages == 0
    work(senders, redis_url)
    db.expire_all()
    assert db.get(Message, receipt.id).status == MessageStatus.QUEUED  # type: ignore[union-attr]
    bodies = fake_twilio.received_bodies()
    assert len(bodies) == len(set(bodies)) == len(link_sms) + 1  # each SMS sent once
