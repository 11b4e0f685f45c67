"""The deployed shape, for real: gunicorn on PostgreSQL and Redis, `rq worker`, fake Twilio.

A focal point sends a link and a citizen fills the form in headless Chromium (with and without
JavaScript); twenty simultaneous submissions of one link; a worker killed mid-send; Redis down
during submissions. Each acknowledgement reaches Twilio exactly once.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.db import utcnow
from core.link_lifecycle import issue_link
from core.messages import Message, MessageStatus
from core.references import grouped
from core.users import StaffUser
from tests.conftest import unavailable
from tests.support.browser import chromium, require_chromium
from tests.support.factories import PASSWORD
from tests.support.households import pages
from tests.support.stack import Stack, free_port, kill, running_stack, stack_engine, wait_until


@pytest.fixture
def stack(postgres_url: str, redis_url: str) -> Iterator[Stack]:
    try:
        with running_stack(postgres_url, redis_url) as running:
            yield running
    except OSError as exc:  # pragma: no cover - the services fixture reports the cause
        unavailable(f"the service stack ({exc})")


def new_token(stack: Stack, phone: str = "+9613123456") -> str:
    engine = stack_engine(stack)
    with Session(engine) as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == "focal")).one()
        _link, token = issue_link(session, user, phone, "ar")
        session.commit()
    engine.dispose()
    return token


def fill_until_last(stack: Stack, token: str, household: dict[str, Any]) -> requests.Session:
    http = requests.Session()
    for page in ("personal", "family", "housing"):
        response = http.post(f"{stack.base}/f/{token}/{page}", data=household[page], timeout=30)
        assert response.status_code == 200, (page, response.status_code)
    return http


def submit(stack: Stack, token: str, household: dict[str, Any]) -> str:
    http = fill_until_last(stack, token, household)
    done = http.post(f"{stack.base}/f/{token}/finances", data=household["finances"], timeout=30)
    found = re.search(r'id="reference">([\d ]+)<', done.text)
    assert done.status_code == 200 and found, done.text[-500:]
    return found.group(1)


def receipts(stack: Stack) -> list[str]:
    return [body for body in stack.twilio.received_bodies() if "1766" in body]


def stored_messages(stack: Stack) -> list[Message]:
    engine = stack_engine(stack)
    with Session(engine) as session:
        rows = list(session.scalars(select(Message).where(Message.purpose == "receipt")))
    engine.dispose()
    return rows


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_focal_point_sends_a_link_and_the_citizen_submits_in_chromium(
    stack: Stack, javascript: bool
) -> None:
    require_chromium()
    stack.start_web()
    stack.start_worker()
    with chromium() as browser:
        staff = browser.new_page()
        staff.goto(f"{stack.base}/sign-in")
        staff.fill("#username", "focal")
        staff.fill("#password", PASSWORD)
        staff.click("main button[type=submit]")
        staff.goto(f"{stack.base}/console/links")
        staff.fill("#phone", "03 123 456")
        staff.click("main button[type=submit]")
        wait_until(lambda: stack.twilio.messages, what="the link SMS at Twilio")
        link_sms = stack.twilio.messages[0]
        assert link_sms["to"] == "+9613123456"
        url = re.search(r"http://\S+/f/\S+", link_sms["body"])
        assert url, link_sms["body"]

        phone = browser.new_context(
            viewport={"width": 360, "height": 640}, java_script_enabled=javascript
        ).new_page()
        phone.goto(url.group(0))
        assert phone.locator("html").get_attribute("dir") == "rtl"
        for values in pages(1).values():
            _fill_page(phone, values)
            phone.click("p.nav button[type=submit]")
        reference = phone.inner_text("#reference")
        assert "تم ارسال بيانك" in phone.inner_text("h1")

        wait_until(lambda: len(receipts(stack)) == 1, what="the acknowledgement at Twilio")
        assert reference in receipts(stack)[0]
        phone.goto(url.group(0))
        assert "لا يمكن استخدام هذا الرابط" in phone.inner_text("h1")
    assert len(receipts(stack)) == 1


def _fill_page(page: Any, values: dict[str, Any]) -> None:
    """Fill by field name, adding a member block (a server round trip) when one is missing."""
    for name, value in values.items():
        if page.locator(f"[name='{name}']").count() == 0:
            _keep_and_add_member(page, values)
        field = page.locator(f"[name='{name}']").first
        tag = field.evaluate("e => e.tagName + ':' + (e.type || '')")
        if tag.startswith("SELECT"):
            page.select_option(f"select[name='{name}']", value)
        elif tag.endswith("checkbox"):
            for item in value if isinstance(value, list) else [value]:
                page.check(f"input[name='{name}'][value='{item}']")
        else:
            page.fill(f"[name='{name}']", value)


def _keep_and_add_member(page: Any, values: dict[str, Any]) -> None:
    """The no-JavaScript way to add a member: the page posts and comes back with a blank block."""
    page.click("button[name=action][value=add]")
    page.wait_for_load_state()


def test_twenty_simultaneous_submissions_of_one_link_make_one_application(stack: Stack) -> None:
    stack.start_web(workers=4)
    token = new_token(stack)
    household = pages(2)
    fill_until_last(stack, token, household)
    barrier, results = threading.Barrier(20), []

    def post() -> None:
        barrier.wait()
        response = requests.post(
            f"{stack.base}/f/{token}/finances", data=household["finances"], timeout=60
        )
        results.append(
            (response.status_code, re.findall(r'id="reference">([\d ]+)<', response.text))
        )

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine = stack_engine(stack)
    with Session(engine) as session:
        applications = list(session.scalars(select(Application)))
    engine.dispose()
    assert len(applications) == 1
    assert {status for status, _ in results} == {200}  # the late ones see the receipt
    assert {tuple(ref) for _, ref in results} == {(grouped(applications[0].reference),)}
    assert len(stored_messages(stack)) == 1


def test_a_worker_killed_mid_send_sends_the_acknowledgement_once(stack: Stack) -> None:
    stack.start_web()
    stack.twilio.delay_next(60)  # Twilio takes the message, the worker dies before the answer
    reference = submit(stack, new_token(stack), pages(3))
    worker = stack.start_worker()
    wait_until(lambda: len(receipts(stack)) == 1, what="the request in flight at Twilio")
    kill(worker)
    assert [m.status for m in stored_messages(stack)] == [MessageStatus.SENDING]

    swept = stack.flask("sms", "sweep", "--claim-timeout", "0")
    assert "reconciled 1" in swept.stdout, swept.stderr
    kill(stack.start_worker(burst=True))
    assert [m.status for m in stored_messages(stack)] == [MessageStatus.QUEUED]
    assert len(receipts(stack)) == 1 and reference in receipts(stack)[0]


def test_a_claim_left_by_a_dead_worker_is_sent_once(stack: Stack) -> None:
    """A worker killed after claiming but before reaching Twilio leaves a SENDING row: the
    sweep finds Twilio never had it, and it is sent exactly once."""
    stack.start_web()
    reference = submit(stack, new_token(stack), pages(4))
    engine = stack_engine(stack)
    with Session(engine) as session:  # what the dead worker left behind
        message = session.scalars(select(Message).where(Message.purpose == "receipt")).one()
        message.status, message.claimed_at, message.attempts = (
            MessageStatus.SENDING,
            utcnow() - timedelta(minutes=5),
            1,
        )
        session.commit()
    engine.dispose()
    for _ in range(2):  # sweeping twice must not send twice
        assert stack.flask("sms", "sweep").returncode == 0
        stack.start_worker(burst=True).wait(timeout=60)
    assert len(receipts(stack)) == 1 and reference in receipts(stack)[0]


def test_redis_down_during_submissions_loses_and_duplicates_nothing(
    stack: Stack, redis_url: str
) -> None:
    port = free_port()
    redis = _redis_server(port)
    stack.env["REDIS_URL"] = stack.redis_url = f"redis://127.0.0.1:{port}/0"
    stack.start_web()
    kill(redis)  # Redis goes away while citizens keep submitting
    references = [
        submit(stack, new_token(stack, f"+96170{n:06d}"), pages(10 + n)) for n in range(3)
    ]
    assert receipts(stack) == []
    assert {m.status for m in stored_messages(stack)} == {MessageStatus.PENDING}
    redis = _redis_server(port)
    try:
        for _ in range(2):
            swept = stack.flask("sms", "sweep")
            assert swept.returncode == 0, swept.stderr
            stack.start_worker(burst=True).wait(timeout=60)
        sent = receipts(stack)
        assert sorted(sent) == sorted(set(sent)) and len(sent) == 3
        assert all(any(ref in body for body in sent) for ref in references)
    finally:
        kill(redis)


def _redis_server(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from redis import Redis

    wait_until(lambda: _pings(Redis(port=port)), seconds=20, what="redis-server")
    return process


def _pings(client: Any) -> bool:
    from redis.exceptions import RedisError

    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False


def test_a_consumer_killed_mid_batch_has_its_messages_taken_over_and_decided_once(
    stack: Stack,
) -> None:
    """Signed SMS through gunicorn into the Redis Stream; the Procfile's consumer is killed
    while its batch is open (held on a table lock), and a second one takes the batch over."""
    from sqlalchemy import func, text

    from core.messages import Direction
    from tests.support.citizen_sms import inbound_form
    from tests.support.twilio_requests import signature

    stack.start_web()
    forms = [inbound_form("HELP", phone=f"+96176{n:06d}") for n in range(30)]
    for form in forms:
        url = f"{stack.base}/sms/inbound"
        answer = requests.post(
            url, data=form, headers={"X-Twilio-Signature": signature(url, form)}, timeout=10
        )
        assert answer.status_code == 200
    engine = stack_engine(stack)
    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE throttle_counters IN EXCLUSIVE MODE"))
        first = stack.start_consumer(claim_idle=1)
        wait_until(lambda: _waiting_on_lock(stack), seconds=60, what="the consumer held mid-batch")
        kill(first)  # dies with the whole batch read and nothing committed
        blocker.rollback()
    stack.start_consumer(claim_idle=1)
    stack.start_worker()  # the relay and the worker send the replies

    def inbound() -> int:
        with Session(engine) as session:
            stmt = select(func.count()).where(Message.direction == Direction.INBOUND)
            return int(session.scalar(stmt) or 0)

    wait_until(lambda: inbound() == 30, seconds=60, what="every SMS decided")
    wait_until(lambda: len(stack.twilio.messages) >= 30, seconds=60, what="every reply")
    with Session(engine) as session:
        sids = session.scalars(
            select(Message.provider_sid).where(Message.direction == Direction.INBOUND)
        ).all()
        replies = session.scalar(select(func.count()).where(Message.purpose == "reply"))
    engine.dispose()
    assert sorted(sids) == sorted(f["MessageSid"] for f in forms)  # each exactly once
    assert replies == 30
    assert sorted(m["to"] for m in stack.twilio.messages) == sorted(f["From"] for f in forms)


def _waiting_on_lock(stack: Stack) -> bool:
    from sqlalchemy import text

    engine = stack_engine(stack)
    try:
        with engine.connect() as conn:
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'throttle_counters' AND NOT l.granted"
                )
            )
    finally:
        engine.dispose()
    return bool(waiting)
