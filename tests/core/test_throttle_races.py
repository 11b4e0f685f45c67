"""Limits under concurrent requests, on PostgreSQL with real threads and connections: before,
40 wrong sign-ins at once got 17 passwords checked against a limit of 5, and a flooding
number got 11 SMS answered against a limit of 10 (the count was read, then written)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import core.users
import sms.keyword_work as keyword_work
from assembly.app import create_app
from core.db import make_sessionmaker
from core.messages import Direction, Message
from core.roles import Role
from core.users import SignInRefused, authenticate
from tests.conftest import own_postgres_store
from tests.support.citizen_sms import inbound_form
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.twilio_requests import post_signed, twilio_settings
from web.store import EXTENSION

RACERS = 40


@pytest.fixture(scope="module")
def racers_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of its own with a connection for each racer: the racers commit, which the
    shared store must not keep."""
    with own_postgres_store("throttle_race", pool_size=RACERS) as engine:
        yield engine


def race(run: Callable[[int], str]) -> Counter[str]:
    """`run(n)` in RACERS threads released at the same instant; how many ended each way."""
    start, outcomes = threading.Barrier(RACERS), [""] * RACERS

    def racer(n: int) -> None:
        start.wait()
        outcomes[n] = run(n)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(outcomes)


def test_concurrent_wrong_sign_ins_check_exactly_the_limit(
    racers_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_sessionmaker(racers_engine)
    with factory() as setup:
        load_sample_geography(setup)
        make_user(setup, Role.FOCAL_POINT, HOME, username="victim")
        setup.commit()
    checked, lock, verify = [0], threading.Lock(), core.users._verify

    def counting_verify(password_hash: str | None, password: str) -> bool:
        with lock:
            checked[0] += 1
        return verify(password_hash, password)

    monkeypatch.setattr(core.users, "_verify", counting_verify)

    def guess(n: int) -> str:
        with factory() as session:
            try:
                authenticate(session, "victim", f"guess number {n}!", "198.51.100.7")
            except SignInRefused as refused:
                session.commit()  # as the sign-in page does: the count is kept
                return "throttled" if refused.throttled else "wrong"
            return "signed in"

    outcomes = race(guess)
    limit = core.users.PER_PAIR.free
    assert checked[0] == limit
    assert outcomes == {"wrong": limit, "throttled": RACERS - limit}


def test_concurrent_sms_from_one_number_get_exactly_the_flood_limit(racers_engine: Engine) -> None:
    app = create_app(twilio_settings(racers_engine))
    app.config["TESTING"] = True
    flood = "too many messages"

    def text_help(_n: int) -> str:
        client: FlaskClient = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        answer = post_signed(client, "/sms/inbound", inbound_form("HELP", phone="+9613999888"))
        return str(answer.status_code)

    try:
        assert race(text_help) == {"200": RACERS}
        with Session(racers_engine) as session:
            owed = session.scalars(
                select(Message.body).where(
                    Message.direction == Direction.OUTBOUND, Message.phone == "+9613999888"
                )
            ).all()
    finally:
        app.extensions[EXTENSION].kw["bind"].dispose()
    # Every SMS is decided (each request decides what waits, as no Redis is configured); the
    # replies owed are exactly the limit's answers and one notice.
    assert sorted("notice" if flood in body else "answered" for body in owed) == sorted(
        ["answered"] * keyword_work.FLOOD.count + ["notice"]
    )
