"""Information SMS to residents, in the domain: who is reached, who approves, how it is owed.

The audience of an area is each Lebanese number known there once (applications, SMS and calls
to 1766), STOP ones counted and skipped; a national or governorate broadcast needs a second
account whose area covers it; sending writes recipients once and owes each SMS once, however
often the job runs.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.jobs import JOBS
from core.applications import Application
from core.audit import AuditEvent
from core.broadcast_audience import (
    broadcast_area,
    cost,
    count_audience,
    owe_chunk,
    progress,
    snapshot,
)
from core.broadcast_jobs import send_broadcast
from core.broadcasts import (
    Broadcast,
    BroadcastInvalid,
    BroadcastRecipient,
    BroadcastRefused,
    BroadcastStatus,
    Refusal,
    broadcasts_visible_to,
    clean_broadcast,
    confirm,
    decide,
    write_broadcast,
)
from core.calls import Call, CallStatus
from core.db import utcnow
from core.links import Link
from core.messages import Direction, Message, MessageStatus
from core.opt_outs import stop
from core.programme import Programme, set_window
from core.queue import JobContext, RedisRunner, Work, use_job_context
from core.roles import Permission, Role, can
from core.settings import DEFAULT_SEGMENT_PRICE, Settings, SettingsError
from core.users import StaffUser
from tests.conftest import settings_for
from tests.support.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
    area,
    load_sample_geography,
    make_user,
)
from tests.support.rq_worker import work_through
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, NO_AREA, PLACES

_numbers = itertools.count(1)
TEXT = "The emergency aid programme is open until 30 April. Call 1766 to apply, free of charge."


def _programme(db: Session) -> tuple[Programme, StaffUser]:
    programme = set_window(db, utcnow(), utcnow() + timedelta(days=9), "test")
    return programme, make_user(db, Role.ADMIN, "LB")


def applied(db: Session, phone: str, place: str) -> None:
    """A family of `place` applied from `phone` (its link and its application)."""
    programme = db.scalars(select(Programme)).first()
    if programme is None:
        programme, _admin = _programme(db)
    n = next(_numbers)
    link = Link(
        token_hash=f"b{n:063d}",
        channel="sms_link",
        programme_id=programme.id,
        phone=phone,
        expires_at=programme.closes_at,
    )
    application = Application(
        reference=f"B{n:09d}",
        programme_id=programme.id,
        channel="sms_link",
        phone=phone,
        status="received",
        data="{}",
    )
    link.place_in(area(db, place))
    application.place_in(area(db, place))
    db.add(link)
    db.flush()
    application.link_id = link.id
    db.add(application)
    db.flush()


def texted(db: Session, phone: str, place: str | None, direction: str = Direction.INBOUND) -> None:
    message = Message(direction=direction, phone=phone, body="LINK", status=MessageStatus.RECEIVED)
    if place is not None:
        message.place_in(area(db, place))
    db.add(message)
    db.flush()


def called(db: Session, phone: str, place: str) -> None:
    call = Call(
        call_sid=f"CA{next(_numbers):032d}",
        direction=Direction.INBOUND,
        phone=phone,
        status=CallStatus.COMPLETED,
    )
    call.place_in(area(db, place))
    db.add(call)
    db.flush()


@pytest.fixture
def residents(db: Session) -> Session:
    """Home: 4 numbers (one applied, texted and called: counted once; one sent STOP);
    next door in the same district: 1; elsewhere in the governorate: 1; Beirut: 1; a foreign
    number and an outbound SMS in Home that are not audience."""
    load_sample_geography(db)
    applied(db, "+96170000001", HOME)
    texted(db, "+96170000001", HOME)
    called(db, "+96170000001", HOME)
    applied(db, "+96170000002", HOME)
    texted(db, "+96170000003", HOME)
    called(db, "+96170000004", HOME)
    stop(db, "+96170000004")
    applied(db, "+96170000005", SAME_DISTRICT)
    texted(db, "+96170000006", SAME_GOVERNORATE)
    applied(db, "+96170000007", ELSEWHERE)
    texted(db, "+447700900123", HOME)  # from abroad: not a resident's number
    texted(db, "+96170000008", HOME, Direction.OUTBOUND)  # we texted it; it never contacted us
    db.commit()
    return db


@pytest.mark.parametrize(
    ("code", "total", "stopped"),
    [(HOME, 4, 1), ("LB32", 5, 1), ("LB3", 6, 1), ("LB", 7, 1), (ELSEWHERE, 1, 0)],
)
def test_the_audience_is_each_known_number_of_the_area_once(
    residents: Session, code: str, total: int, stopped: int
) -> None:
    counted = count_audience(residents, area(residents, code))
    assert (counted.total, counted.stopped, counted.sendable) == (total, stopped, total - stopped)


def test_cost_is_segments_times_numbers_times_price() -> None:
    assert cost(3, 1000, Decimal("0.15")) == Decimal("450.00")
    assert cost(1, 7, Decimal("0.0375")) == Decimal("0.26")


DEVELOPMENT = {
    "INTAKE_ENV": "development",
    "DATABASE_URL": "sqlite:///:memory:",
    "SECRET_KEY": "s" * 40,
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
}


@pytest.mark.parametrize(
    ("value", "expected"), [(None, DEFAULT_SEGMENT_PRICE), ("0.0575", Decimal("0.0575"))]
)
def test_the_segment_price_is_a_setting(value: str | None, expected: Decimal) -> None:
    env = {**DEVELOPMENT, "SMS_SEGMENT_PRICE_USD": value or ""}
    assert Settings.from_env(env).sms_segment_price_usd == expected


@pytest.mark.parametrize("value", ["abc", "-1", "11", "0.123456", "NaN", "1e400"])
def test_a_bad_segment_price_is_named(value: str) -> None:
    with pytest.raises(SettingsError, match="SMS_SEGMENT_PRICE_USD"):
        Settings.from_env({**DEVELOPMENT, "SMS_SEGMENT_PRICE_USD": value})


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 460, "too_long"),
        ("برنامج الدعم الطارئ مفتوح. " * 10, "too_many_segments"),
        ("Apply at https://example.com today", "web_address"),
        ("Apply at www.impact.gov.lb today", "web_address"),
        ("Apply on impact-lebanon.org", "web_address"),
        ("<script>alert(1)</script>", "invalid_characters"),
        ("Your link: <link 5>", "invalid_characters"),
        ("bad \x00 byte", "invalid_characters"),
    ],
)
def test_a_bad_text_is_refused_with_its_reason(text: str, code: str) -> None:
    with pytest.raises(BroadcastInvalid) as refused:
        clean_broadcast({"text": text, "language": "en"})
    assert [e.code for e in refused.value.errors] == [code]


def test_a_text_is_measured_in_segments_and_encoding() -> None:
    latin = clean_broadcast({"text": TEXT, "language": "en"})
    arabic = clean_broadcast(
        {"text": "برنامج الدعم الطارئ مفتوح حتى 30 نيسان. اتصلوا بالرقم 1766.", "language": "ar"}
    )
    assert (latin.encoding, latin.segments) == ("GSM-7", 1)
    assert (arabic.encoding, arabic.segments) == ("UCS-2", 1)
    assert clean_broadcast({"text": "é" * 300, "language": "fr"}).segments == 2
    with pytest.raises(BroadcastInvalid):
        clean_broadcast({"text": TEXT, "language": "de"})


def _write(db: Session, author: StaffUser, text: str = TEXT) -> Broadcast:
    counted = count_audience(db, author.area)
    draft = clean_broadcast({"text": text, "language": "en"})
    return write_broadcast(db, author, draft, counted.total, counted.stopped)


def test_an_area_with_nobody_to_text_cannot_be_written_to(residents: Session) -> None:
    focal = make_user(residents, Role.FOCAL_POINT, AKKAR)  # nobody of Halba contacted 1766
    with pytest.raises(BroadcastInvalid) as refused:
        _write(residents, focal)
    assert [e.code for e in refused.value.errors] == ["no_audience"]


def test_a_municipality_broadcast_goes_on_its_authors_confirmation(residents: Session) -> None:
    focal = make_user(residents, Role.FOCAL_POINT, HOME)
    broadcast = _write(residents, focal)
    assert broadcast.status == BroadcastStatus.DRAFT and broadcast.audience == 4
    confirm(residents, focal, broadcast)
    assert broadcast.status == BroadcastStatus.SENDING
    with pytest.raises(BroadcastRefused) as again:
        confirm(residents, focal, broadcast)  # a second click
    assert again.value.reason is Refusal.ALREADY_DONE


@pytest.mark.parametrize(
    ("author_at", "approver", "reason"),
    [
        (("ministry", "LB"), (Role.GOVERNOR, "LB3"), Refusal.OUTSIDE_AREA),
        (("governor", "LB3"), (Role.GOVERNOR, "LB5"), Refusal.OUTSIDE_AREA),
        (("governor", "LB3"), (Role.QAIMAQAM, "LB32"), Refusal.OUTSIDE_AREA),
        (("governor", "LB3"), (Role.INSPECTOR, "LB"), Refusal.OUTSIDE_AREA),
    ],
)
def test_an_approver_outside_the_area_or_without_the_duty_is_refused(
    residents: Session, author_at: tuple[str, str], approver: tuple[Role, str], reason: Refusal
) -> None:
    author = make_user(residents, Role(author_at[0]), author_at[1])
    broadcast = _write(residents, author)
    assert broadcast.status == BroadcastStatus.AWAITING_APPROVAL
    with pytest.raises(BroadcastRefused) as refused:
        decide(residents, make_user(residents, *approver), broadcast, approve=True)
    assert refused.value.reason is reason
    assert broadcast.status == BroadcastStatus.AWAITING_APPROVAL


def test_the_author_cannot_approve_and_a_second_account_can(residents: Session) -> None:
    governor = make_user(residents, Role.GOVERNOR, "LB3")
    broadcast = _write(residents, governor)
    with pytest.raises(BroadcastRefused) as own:
        decide(residents, governor, broadcast, approve=True)
    assert own.value.reason is Refusal.OWN_BROADCAST
    with pytest.raises(BroadcastRefused):
        confirm(residents, governor, broadcast)  # no way round the second account
    ministry = make_user(residents, Role.MINISTRY, "LB")
    decide(residents, ministry, broadcast, approve=True)
    assert (broadcast.status, broadcast.approver_id) == (BroadcastStatus.SENDING, ministry.id)
    with pytest.raises(BroadcastRefused):
        decide(residents, make_user(residents, Role.GOVERNOR, "LB3"), broadcast, approve=False)


def test_each_step_is_audited_with_counts_and_no_number(residents: Session) -> None:
    ministry = make_user(residents, Role.MINISTRY, "LB")
    broadcast = _write(residents, ministry)
    decide(residents, make_user(residents, Role.MINISTRY, "LB"), broadcast, approve=False)
    residents.commit()
    events = residents.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "broadcast").order_by(AuditEvent.seq)
    ).all()
    assert [e.action for e in events] == ["broadcast.written", "broadcast.refused"]
    assert '"audience": 7' in events[0].details or '"audience":7' in events[0].details
    assert all("+961" not in e.details for e in events)
    assert broadcast.status == BroadcastStatus.REFUSED


# --- sending --------------------------------------------------------------------------------


@pytest.fixture
def jobs_on_this_store(session_factory: sessionmaker[Session], engine: object) -> None:
    url = engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    use_job_context(JobContext(settings_for(url), session_factory))


def _sending(db: Session, place: str = "LB32") -> Broadcast:
    """A district's (or, given a municipality, its focal point's) broadcast, confirmed."""
    role = Role.QAIMAQAM if place.startswith("LB") else Role.FOCAL_POINT
    author = make_user(db, role, place)
    broadcast = _write(db, author)
    confirm(db, author, broadcast)
    db.commit()
    return broadcast


def _owed(db: Session, broadcast: Broadcast) -> list[Message]:
    db.expire_all()
    purpose = f"broadcast:{broadcast.id}"
    return list(db.scalars(select(Message).where(Message.purpose == purpose)))


def test_sending_owes_one_sms_a_number_skipping_stop_even_run_twice(
    residents: Session, jobs_on_this_store: None
) -> None:
    broadcast = _sending(residents)
    send_broadcast(broadcast.id, chunk=2)
    send_broadcast(broadcast.id, chunk=2)  # a retried job
    owed = _owed(residents, broadcast)
    assert sorted(m.phone for m in owed) == [f"+9617000000{n}" for n in (1, 2, 3, 5)]
    assert {(m.status, m.body, m.segments, m.capped) for m in owed} == {
        (MessageStatus.PENDING, TEXT, 1, False)
    }
    residents.refresh(broadcast)
    assert (broadcast.status, broadcast.recipients, broadcast.skipped) == ("sent", 5, 1)
    assert progress(residents, broadcast).owed == 4 and progress(residents, broadcast).skipped == 1
    sent = residents.scalars(select(AuditEvent).where(AuditEvent.action == "broadcast.sent"))
    assert len(sent.all()) == 1


def test_a_crash_between_chunks_resumes_without_a_second_sms(
    residents: Session, jobs_on_this_store: None
) -> None:
    broadcast = _sending(residents)
    send_broadcast(broadcast.id, chunk=2)
    # As if the job died after the snapshot and the first chunk: undo the rest of its work.
    first, *rest = sorted(_owed(residents, broadcast), key=lambda m: m.id)
    residents.get_one(Broadcast, broadcast.id).status = BroadcastStatus.SENDING
    for recipient in residents.scalars(select(BroadcastRecipient)):
        if recipient.message_id in {m.id for m in rest}:
            recipient.message_id = None
    residents.flush()
    for message in rest:
        residents.delete(message)
    residents.commit()
    send_broadcast(broadcast.id, chunk=2)
    owed = _owed(residents, broadcast)
    assert len(owed) == 4 and len({m.phone for m in owed}) == 4
    assert first.id in {m.id for m in owed}


def test_chunks_are_owed_once_and_fall_due_slice_by_slice(
    residents: Session, jobs_on_this_store: None
) -> None:
    broadcast = _sending(residents)
    residents.refresh(broadcast)
    snapshot(residents, broadcast)
    now = utcnow()
    first = owe_chunk(residents, broadcast, 0, 3, now)
    assert first is not None
    second = owe_chunk(residents, broadcast, first[0], 3, now + timedelta(seconds=40))
    assert second is not None and first[1] + second[1] == 4  # 5 recipients, one sent STOP
    assert owe_chunk(residents, broadcast, first[0], 3, now) == (second[0], 0)  # owed already
    assert owe_chunk(residents, broadcast, second[0], 3, now) is None
    due = sorted({m.next_attempt_at for m in _owed(residents, broadcast)})
    assert due == [now, now + timedelta(seconds=40)]


def test_within_a_chunk_each_slice_falls_due_later(
    residents: Session, jobs_on_this_store: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay hands on only what is due: a slice at a time, at the gateway's pace."""
    monkeypatch.setattr("core.broadcast_audience.SLICE", 2)
    broadcast = _sending(residents, HOME)  # 4 numbers, one of them STOP
    residents.refresh(broadcast)
    snapshot(residents, broadcast)
    now = utcnow()
    assert owe_chunk(residents, broadcast, 0, 10, now, timedelta(seconds=4)) is not None
    due = sorted(m.next_attempt_at for m in _owed(residents, broadcast))
    assert len(due) == 3 and set(due) == {now, now + timedelta(seconds=4)}


def test_the_job_queued_twice_on_rq_owes_each_sms_once(
    residents: Session, jobs_on_this_store: None, redis_url: str, queue_prefix: str
) -> None:
    """As the web app queues it (the `default` queue) and the Procfile's worker runs it."""
    broadcast = _sending(residents)
    runner = RedisRunner(redis_url, prefix=queue_prefix, jobs=JOBS)
    for _click in range(2):
        runner.enqueue("default", Work.SEND_BROADCAST, broadcast.id, job_id=f"b-{broadcast.id}")
    work_through([runner.queue("default")], Redis.from_url(redis_url))
    owed = _owed(residents, broadcast)
    assert len(owed) == 4 and len({m.phone for m in owed}) == 4
    assert residents.get_one(Broadcast, broadcast.id).status == BroadcastStatus.SENT


def test_a_refused_or_unconfirmed_broadcast_sends_nothing(
    residents: Session, jobs_on_this_store: None
) -> None:
    broadcast = _write(residents, make_user(residents, Role.FOCAL_POINT, HOME))
    residents.commit()
    send_broadcast(broadcast.id)
    assert _owed(residents, broadcast) == []
    assert residents.scalar(select(func.count()).select_from(BroadcastRecipient)) == 0


# --- scope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "area_code", "expected"), MATRIX, ids=MATRIX_IDS)
def test_broadcasts_are_read_within_the_area(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    """A broadcast lies in its author's area; it is read by those who send them, in scope."""
    load_sample_geography(db)
    author = make_user(db, Role.MINISTRY, "LB")
    for place in PLACES:
        broadcast = Broadcast(
            level="national" if place == NO_AREA else "locality",
            text=place,
            language="en",
            encoding="GSM-7",
            segments=1,
            status=BroadcastStatus.DRAFT,
            author_id=author.id,
        )
        if place != NO_AREA:
            broadcast.place_in(area(db, place))
        db.add(broadcast)
    db.flush()
    viewer = make_user(db, role, area_code)
    seen = {b.locality_code or NO_AREA for b in broadcasts_visible_to(db, viewer)}
    assert seen == (expected if can(role, Permission.SEND_BROADCASTS) else set())


def test_a_broadcasts_area_is_its_authors(residents: Session) -> None:
    for role, code in ((Role.GOVERNOR, "LB3"), (Role.QAIMAQAM, "LB32"), (Role.FOCAL_POINT, HOME)):
        author = make_user(residents, role, code)
        assert broadcast_area(_write(residents, author)) == author.area
