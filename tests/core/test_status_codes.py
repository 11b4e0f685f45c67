"""The status page's one-time codes in the store (core/status_codes.py): typed in any digits,
kept as a hash keyed with SECRET_KEY and bound to the application, used once even by two
requests at the same instant, three a day, and forgotten by the SMS once it is handed over."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import ModuleType

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.audit import AuditEvent
from core.db import make_sessionmaker
from core.messages import Message
from core.notifications import claim, mark_accepted
from core.opt_outs import SmsOptOut
from core.status_codes import (
    KEEP,
    PER_DAY,
    PURPOSE,
    StatusCode,
    Throttled,
    code_hash,
    open_with_code,
    parse_code,
    purge_older_than,
    send_code,
)
from tests.support.factories import load_sample_geography
from tests.support.households import submitted
from tests.support.list_factories import open_round

KEY = "test-secret-key-" + "x" * 32
ADDRESS = "198.51.100.7"


def write(code: str, language: str) -> str:
    return f"1766: code {code} ({language})"


@pytest.fixture
def status_family(db: Session) -> Application:
    load_sample_geography(db)
    open_round(db)
    application: Application = submitted(db, 1, phone="+96171000001")
    db.commit()
    return application


def sent_code(db: Session, application: Application) -> str:
    (message_id,) = send_code(db, application.reference, ADDRESS, KEY, write)
    body = db.get_one(Message, message_id).body
    return body.split()[2]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("123456", "123456"),
        (" 123 456 ", "123456"),
        ("123-456", "123456"),
        ("١٢٣٤٥٦", "123456"),
        ("۱۲۳۴۵۶", "123456"),
        ("\u200f123\u00a0456\u202c", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("\U0001f600" * 6, None),
        ("", None),
        ("1" * 6 + " " * 100, None),  # longer than anything typed: not looked at
        ("²³⁴⁵⁶⁷", None),  # digits by Unicode's count, not by anyone's keyboard
    ],
)
def test_codes_are_read_in_any_digits_and_nothing_else(typed: str, code: str | None) -> None:
    assert parse_code(typed) == code


def test_the_hash_is_keyed_and_bound_to_the_application() -> None:
    digest = code_hash(KEY, 7, "123456")
    assert digest == code_hash(KEY, 7, "123456")
    assert digest != code_hash("another-key-" + "y" * 32, 7, "123456")
    assert digest != code_hash(KEY, 8, "123456")
    assert "123456" not in digest


def test_the_sms_forgets_the_code_once_the_provider_has_it(
    db: Session, status_family: Application
) -> None:
    code = sent_code(db, status_family)
    (message,) = claim(db, [db.scalars(select(Message.id)).one()])
    assert code in message.body  # until it goes, the SMS is the code's only copy
    mark_accepted(db, message, "SM" + "0" * 32)
    assert message.purpose == PURPOSE
    assert code not in message.body and "[redacted]" in message.body
    assert "1766" in message.body  # only the code goes
    stored = db.scalars(select(StatusCode)).one()
    assert stored.code_hash == code_hash(KEY, status_family.id, code)


def test_a_right_code_opens_once_and_is_audited_without_personal_data(
    db: Session, status_family: Application
) -> None:
    code = sent_code(db, status_family)
    assert open_with_code(db, status_family.reference, code, ADDRESS, KEY) == status_family
    assert open_with_code(db, status_family.reference, code, ADDRESS, KEY) is None
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "status.viewed")).one()
    assert (event.actor, event.object_id) == ("citizen", str(status_family.id))
    for personal in (status_family.reference, status_family.phone, code, ADDRESS):
        assert personal not in (event.details or "")


def test_a_hit_is_not_counted_against_the_reference(
    db: Session, status_family: Application
) -> None:
    """A family that opens its status a few times a day is never told to wait."""
    for _ in range(PER_DAY):
        code = sent_code(db, status_family)
        assert open_with_code(db, status_family.reference, code, ADDRESS, KEY) == status_family


def test_a_phone_that_sent_stop_gets_no_code_and_the_caller_learns_nothing(
    db: Session, status_family: Application
) -> None:
    db.add(SmsOptOut(phone=status_family.phone))
    db.flush()
    assert send_code(db, status_family.reference, ADDRESS, KEY, write) == ()


def test_a_reference_asked_for_too_often_is_refused_from_any_address(
    db: Session, status_family: Application
) -> None:
    from core.status_codes import ASKS_PER_REFERENCE

    for n in range(ASKS_PER_REFERENCE.count):
        send_code(db, status_family.reference, f"203.0.113.{n}", KEY, write)
    with pytest.raises(Throttled):
        send_code(db, status_family.reference, "203.0.113.200", KEY, write)
    sent = db.scalars(select(StatusCode)).all()
    assert len(sent) == PER_DAY


# --- the same right code twice at the same instant, on PostgreSQL --------------------------------


def test_a_code_sent_twice_at_once_opens_the_status_once(race_engine: Engine) -> None:
    factory = make_sessionmaker(race_engine)
    with factory() as setup:
        load_sample_geography(setup)
        open_round(setup)
        application = submitted(setup, 1, phone="+96171000009")
        code = sent_code(setup, application)
        setup.commit()
        reference = application.reference
    sessions = [factory() for _ in range(4)]
    together = threading.Barrier(len(sessions))
    opened: list[bool] = []
    failures: list[BaseException] = []

    def run(session: Session) -> None:
        together.wait()
        try:
            found = open_with_code(session, reference, code, f"192.0.2.{id(session) % 200}", KEY)
            session.commit()
            opened.append(found is not None)
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for session in sessions:
        session.close()
    assert failures == []
    assert sorted(opened) == [False, False, False, True]
    with factory() as check:
        views = select(AuditEvent).where(AuditEvent.action == "status.viewed")
        assert len(check.scalars(views).all()) == 1


def test_housekeeping_drops_codes_only_once_past_their_day(
    db: Session, status_family: Application, clock: ModuleType
) -> None:
    start = clock.now()
    sent_code(db, status_family)
    clock.freeze(start + KEEP - timedelta(seconds=1))
    assert purge_older_than(db) == 0
    assert db.scalar(select(StatusCode.id).where(StatusCode.application_id == status_family.id))
    clock.freeze(start + KEEP + timedelta(seconds=1))
    assert purge_older_than(db) == 1
    assert db.scalars(select(StatusCode)).all() == []
