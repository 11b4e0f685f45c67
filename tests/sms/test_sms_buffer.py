"""Inbound SMS through the Redis Stream, as on launch day: the webhook only buffers, the
consumers decide; a full buffer, the fallback URL, Redis dying in a burst, a consumer dying
mid-batch, and messages read twice. Real Redis (a private server where one is stopped) and
real PostgreSQL and SQLite; replies reach the fake Twilio."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from assembly.jobs import JOBS
from core.inbox import PendingSms
from core.messages import Direction, Message
from core.queue import InlineRunner
from core.tickets import Ticket
from sms.buffer import STREAM, SmsBuffer
from sms.consumer import Consumer
from sms.inbound import BUFFER
from sms.keyword_work import FLOOD
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.citizen_sms import HELP, inbound_form
from tests.support.twilio_requests import PUBLIC, post_signed, signature, twilio_settings

_numbers = itertools.count(1)


def service(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeTwilio,
    redis_url: str,
    **overrides: object,
) -> Flask:
    settings = twilio_settings(
        engine, twilio_api_base_url=fake.url, redis_url=redis_url, **overrides
    )
    buffered_app = create_app(settings, session_factory=session_factory)
    buffered_app.config["TESTING"] = True
    return buffered_app


def client_of(buffered_app: Flask) -> FlaskClient:
    client = buffered_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def consumer_of(buffered_app: Flask, name: str = "c1", claim_idle_ms: int = 30_000) -> Consumer:
    """A consumer as the Procfile runs it, sending what it owes at once (inline jobs)."""
    edge = buffered_app.extensions[BUFFER]
    buffer = SmsBuffer(edge.buffer.redis, edge.buffer.max_depth, claim_idle_ms=claim_idle_ms)
    buffer.ensure_group()
    return Consumer(
        buffered_app.extensions["intake.sessionmaker"], InlineRunner(JOBS), buffer, name=name
    )


def drain(buffered_app: Flask, consumer: Consumer) -> int:
    with buffered_app.app_context():
        total = 0
        while seen := consumer.step(block_ms=0):
            total += seen
        return total


def unique_sms(body: str = "HELP") -> dict[str, str]:
    return inbound_form(body, phone=f"+96171{next(_numbers) % 1000000:06d}")


def decided(db: Session) -> list[str]:
    db.expire_all()
    stmt = select(Message.provider_sid).where(Message.direction == Direction.INBOUND)
    return [sid for sid in db.scalars(stmt) if sid]


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def clean_stream(redis_url: str) -> Iterator[Redis]:
    redis = Redis.from_url(redis_url)
    redis.delete(STREAM)
    yield redis
    redis.delete(STREAM)


@pytest.fixture
def buffered_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
    redis_url: str,
    clean_stream: Redis,
) -> Flask:
    return service(engine, session_factory, fake_twilio, redis_url)


def test_the_webhook_only_buffers_and_a_consumer_decides_and_replies(
    buffered_app: Flask, db: Session, fake_twilio: FakeTwilio, clean_stream: Redis
) -> None:
    form = inbound_form("HELP")
    answer = post_signed(client_of(buffered_app), "/sms/inbound", form)

    assert answer.status_code == 200
    assert b"<Message" not in answer.data
    assert clean_stream.xlen(STREAM) == 1
    assert count(db, Message) == 0 and count(db, PendingSms) == 0  # no store on the edge

    assert drain(buffered_app, consumer_of(buffered_app)) == 1

    assert decided(db) == [form["MessageSid"]]
    assert [m["body"] for m in fake_twilio.messages] == [HELP]
    assert clean_stream.xlen(STREAM) == 0  # acknowledged and removed


def test_a_message_buffered_twice_is_decided_once(
    buffered_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    form = inbound_form("COMPLAINT the water was cut")
    client = client_of(buffered_app)
    post_signed(client, "/sms/inbound", form)
    post_signed(client, "/sms/inbound", form)  # Twilio's retry
    drain(buffered_app, consumer_of(buffered_app))
    post_signed(client, "/sms/inbound", form)  # and one after the decision

    drain(buffered_app, consumer_of(buffered_app))

    assert decided(db) == [form["MessageSid"]]
    assert count(db, Ticket) == 1
    assert len(fake_twilio.messages) == 1  # the ticket's number, once


def test_a_full_buffer_answers_503_and_the_fallback_url_keeps_the_message(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
    redis_url: str,
    clean_stream: Redis,
    db: Session,
) -> None:
    buffered_app = service(engine, session_factory, fake_twilio, redis_url, sms_buffer_max=1)
    client = client_of(buffered_app)
    first, second = unique_sms(), unique_sms()
    assert post_signed(client, "/sms/inbound", first).status_code == 200

    busy = post_signed(client, "/sms/inbound", second)

    assert busy.status_code == 503
    assert busy.headers["Retry-After"].isdigit()
    assert clean_stream.xlen(STREAM) == 1  # nothing was added past the limit
    # Twilio then calls the fallback URL with the same message, signed over that URL.
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/fallback", second)}
    kept = client.post("/sms/fallback", data=second, headers=headers)
    assert kept.status_code == 200
    assert count(db, PendingSms) == 1

    drain(buffered_app, consumer_of(buffered_app))

    assert sorted(decided(db)) == sorted([first["MessageSid"], second["MessageSid"]])
    assert count(db, PendingSms) == 0
    assert len(fake_twilio.messages) == 2  # one reply each


def test_the_fallback_url_refuses_what_twilio_did_not_sign(
    buffered_app: Flask, db: Session
) -> None:
    form = unique_sms()
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/inbound", form)}  # wrong URL

    answer = client_of(buffered_app).post("/sms/fallback", data=form, headers=headers)

    assert answer.status_code == 403
    assert count(db, PendingSms) == 0


def test_a_consumer_that_dies_before_committing_has_its_batch_taken_over_once(
    buffered_app: Flask, db: Session, fake_twilio: FakeTwilio, clean_stream: Redis
) -> None:
    forms = [unique_sms("COMPLAINT nobody came") for _ in range(5)]
    client = client_of(buffered_app)
    for form in forms:
        post_signed(client, "/sms/inbound", form)
    dead = consumer_of(buffered_app, "dead")
    assert len(dead.buffer.read("dead", 100, 0)) == 5  # read, then the process was killed

    survivor = consumer_of(buffered_app, "survivor", claim_idle_ms=0)  # its idle limit has passed
    drain(buffered_app, survivor)

    assert sorted(decided(db)) == sorted(f["MessageSid"] for f in forms)
    assert count(db, Ticket) == 5
    assert len(fake_twilio.messages) == 5
    assert clean_stream.xlen(STREAM) == 0
    assert clean_stream.xpending(STREAM, "deciders")["pending"] == 0


def test_a_consumer_that_dies_after_committing_is_not_decided_again(
    buffered_app: Flask, db: Session, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = [unique_sms("COMPLAINT no bread") for _ in range(3)]
    client = client_of(buffered_app)
    for form in forms:
        post_signed(client, "/sms/inbound", form)
    dying = consumer_of(buffered_app, "dying")

    def killed(_entry_ids: object) -> None:
        raise KeyboardInterrupt  # the process ends between the commit and the acknowledgement

    monkeypatch.setattr(dying.buffer, "done", killed)
    with pytest.raises(KeyboardInterrupt), buffered_app.app_context():
        dying.step(block_ms=0)

    drain(buffered_app, consumer_of(buffered_app, "next", claim_idle_ms=0))

    assert count(db, Ticket) == 3
    assert len(fake_twilio.messages) == 3  # one SMS each, not two


def test_a_restarted_consumer_finishes_its_own_unacknowledged_batch(
    buffered_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    forms = [unique_sms() for _ in range(3)]
    client = client_of(buffered_app)
    for form in forms:
        post_signed(client, "/sms/inbound", form)
    consumer_of(buffered_app, "same-name").buffer.read(
        "same-name", 100, 0
    )  # read, then it restarted

    drain(buffered_app, consumer_of(buffered_app, "same-name"))  # well before the idle limit

    assert len(decided(db)) == 3


# -- Redis stopped in the middle of a burst --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own, with an append-only file synced on every write, so
    it can be killed and started again without losing what it acknowledged."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is installed with Redis (bin/services)"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                Redis.from_url(self.url).ping()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis(tmp_path: Path, redis_url: str) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


def test_redis_stopped_during_a_burst_loses_and_doubles_nothing(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
    private_redis: PrivateRedis,
    db: Session,
) -> None:
    buffered_app = service(engine, session_factory, fake_twilio, private_redis.url)
    client = client_of(buffered_app)
    forms = [unique_sms() for _ in range(40)]

    statuses = []
    for n, form in enumerate(forms):
        if n == 20:
            private_redis.kill()  # half the burst is in the stream; the rest must not be lost
        statuses.append(post_signed(client, "/sms/inbound", form).status_code)

    assert statuses == [200] * 40
    assert count(db, PendingSms) == 20  # the store took what Redis could not
    consumer = Consumer(
        buffered_app.extensions["intake.sessionmaker"],
        InlineRunner(JOBS),
        buffered_app.extensions[BUFFER].buffer,
    )
    with buffered_app.app_context():
        assert consumer.step(block_ms=0) == 20  # Redis still down: the store's are decided
    assert count(db, PendingSms) == 0 and len(decided(db)) == 20
    db.rollback()  # this session's read must not hold SQLite's write lock meanwhile
    private_redis.start()  # back, with what it had acknowledged (append-only file)
    drain(buffered_app, consumer_of(buffered_app))

    assert sorted(decided(db)) == sorted(f["MessageSid"] for f in forms)
    replies = db.scalars(select(Message.phone).where(Message.purpose == "reply")).all()
    assert sorted(replies) == sorted(f["From"] for f in forms)  # exactly one reply owed each
    sent = [m["to"] for m in fake_twilio.messages]
    assert len(sent) == len(set(sent)) >= 20  # none twice; those owed while Redis was down
    # (the send rate lives there) wait in the outbox for the sweep and the relay
    assert count(db, PendingSms) == 0


def test_a_flood_inside_one_batch_gets_the_limit_then_one_notice_then_silence(
    buffered_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    """The batch counts a number's messages in one statement: the same answers as one by one."""
    client = client_of(buffered_app)
    flooder = "+96171999999"
    for _n in range(FLOOD.count + 3):
        post_signed(client, "/sms/inbound", inbound_form("HELP", phone=flooder))
    post_signed(client, "/sms/inbound", inbound_form("HELP"))  # someone else, same batch

    drain(buffered_app, consumer_of(buffered_app))

    to_flooder = [m["body"] for m in fake_twilio.messages if m["to"] == flooder]
    assert to_flooder.count(HELP) == FLOOD.count
    assert len(to_flooder) == FLOOD.count + 1  # and the one notice; then silence
    assert "too many messages" in to_flooder[-1]
    assert len(decided(db)) == FLOOD.count + 4  # every message is logged all the same
    assert len(fake_twilio.messages) == FLOOD.count + 2


@pytest.mark.parametrize("how", ["tampered", "missing", "not-a-form", "oversized"])
def test_the_fast_path_buffers_only_what_twilio_signed_and_sent_as_a_form(
    buffered_app: Flask, db: Session, clean_stream: Redis, how: str
) -> None:
    form = unique_sms()
    good = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/inbound", form)}
    client = client_of(buffered_app)
    if how == "tampered":
        answer = client.post("/sms/inbound", data={**form, "Body": "STOP"}, headers=good)
    elif how == "missing":
        answer = client.post("/sms/inbound", data=form)
    elif how == "not-a-form":
        answer = client.post("/sms/inbound", json=form, headers=good)
    else:
        padded = {**form, "Padding": "x" * 70_000}
        headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/inbound", padded)}
        answer = client.post("/sms/inbound", data=padded, headers=headers)
        assert answer.status_code == 200  # signed: the app takes it the long way
        assert clean_stream.xlen(STREAM) == 1
        return

    assert answer.status_code == 403
    assert clean_stream.xlen(STREAM) == 0
    assert count(db, PendingSms) == 0
