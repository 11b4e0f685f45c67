"""Delivery that does not give up (core/delivery_reports.py, core/resends.py): what a failed
SMS is tried as next — later, by the fallback provider, at the family's second mobile — and
that a report applied twice, at once or out of order owes at most one new try."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.applications import Application
from core.db import make_sessionmaker
from core.delivery_codes import FailureKind
from core.delivery_reports import DeliveryReport, apply_report
from core.messages import Direction, Message, MessageStatus
from core.messaging_settings import MessagingSettings, SmsBackend
from core.notifications import due_for_dispatch
from core.opt_outs import stop
from core.resends import after_failure, after_refusal, by_fallback, second_phone_for
from core.sms_policy import OPT_CHOICE_PURPOSE
from tests.support.households import submitted

FAMILY = "+9613123456"
SECOND = "+96171999888"
START = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)
SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=4))
PLAIN = MessagingSettings(retry_schedule=SCHEDULE)
WITH_FALLBACK = MessagingSettings(sms_fallback=SmsBackend.HTTP, retry_schedule=SCHEDULE)
_SIDS = itertools.count(1)


def sent_message(
    db: Session, phone: str = FAMILY, purpose: str = "receipt", gateway: str | None = "twilio"
) -> Message:
    """An acknowledgement the provider took (QUEUED), with its provider id."""
    message = Message(
        direction=Direction.OUTBOUND,
        phone=phone,
        body="تم استلام طلبك.",
        language="ar",
        purpose=purpose,
        status=MessageStatus.QUEUED,
        provider_sid=f"SM{next(_SIDS):032d}",
        gateway=gateway,
        capped=True,
        governorate_code="2",
        district_code="21",
        locality_code="21111",
    )
    db.add(message)
    db.commit()
    return message


def report(
    message: Message,
    status: str = "undelivered",
    failure: FailureKind | None = FailureKind.TEMPORARY,
    by_sid: bool = False,
) -> DeliveryReport:
    return DeliveryReport(
        message_id=None if by_sid else message.id,
        provider_sid=message.provider_sid,
        status=status,
        error_code="30003" if failure else None,
        failure=failure,
        gateway=message.gateway or "twilio",
    )


def resend_of(db: Session, message: Message) -> Message | None:
    db.expire_all()
    return db.scalar(select(Message).where(Message.resend_of == message.id))


def tries(db: Session) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).order_by(Message.id)))


def test_a_temporary_failure_is_tried_at_each_wait_of_the_schedule_then_final(
    db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    message = sent_message(db)
    waits = []
    for wait in SCHEDULE:
        owed_now = apply_report(db, PLAIN, report(message))
        db.commit()
        resend = resend_of(db, message)
        assert resend is not None and owed_now == []  # owed later: the relay hands it on then
        assert resend.next_attempt_at is not None
        waits.append(resend.next_attempt_at - clock.now())
        assert (resend.phone, resend.body, resend.purpose, resend.capped) == (
            FAMILY,
            message.body,
            "receipt",
            False,  # the family was owed one message: a new try is no new notice
        )
        assert resend.locality_code == "21111" and resend.status == MessageStatus.PENDING
        clock.advance(wait - timedelta(seconds=1))
        assert resend.id not in due_for_dispatch(db)  # not a second early
        clock.advance(timedelta(seconds=1))
        assert resend.id in due_for_dispatch(db)
        resend.status, resend.provider_sid = MessageStatus.QUEUED, f"SMretry{len(waits)}"
        db.commit()
        message = resend
    assert waits == list(SCHEDULE)

    assert apply_report(db, PLAIN, report(message)) == []
    db.commit()
    assert resend_of(db, message) is None  # every wait used: final
    assert len(tries(db)) == 1 + len(SCHEDULE)


def test_a_report_applied_twice_or_late_owes_one_new_try(db: Session, clock: ModuleType) -> None:
    clock.freeze(START)
    message = sent_message(db)

    apply_report(db, PLAIN, report(message))
    apply_report(db, PLAIN, report(message))  # Twilio's retry of the same receipt
    apply_report(db, PLAIN, report(message, status="failed"))  # another final word
    apply_report(db, PLAIN, report(message, status="sent", failure=None))  # late, out of order
    db.commit()

    assert len(tries(db)) == 2
    db.refresh(message)
    assert (message.status, message.error_code) == (MessageStatus.UNDELIVERED, "30003")


def test_a_delivered_message_is_not_tried_again(db: Session) -> None:
    message = sent_message(db)

    apply_report(db, PLAIN, report(message, status="delivered", failure=None))
    apply_report(db, PLAIN, report(message))  # a failure reported after the delivery
    db.commit()

    assert len(tries(db)) == 1
    assert message.status == MessageStatus.DELIVERED


def test_a_report_without_our_id_is_found_by_the_providers_id_and_gateway(db: Session) -> None:
    message = sent_message(db, gateway="http")

    elsewhere = DeliveryReport(None, message.provider_sid, "undelivered", "x", None, "twilio")
    assert apply_report(db, PLAIN, elsewhere) == []  # the sid of another provider: not ours
    unknown = DeliveryReport(None, "no-such-id", "undelivered", "x", None, "http")
    assert apply_report(db, PLAIN, unknown) == []
    db.commit()
    assert message.status == MessageStatus.QUEUED

    apply_report(db, PLAIN, report(message, failure=FailureKind.TEMPORARY, by_sid=True))
    db.commit()
    assert message.status == MessageStatus.UNDELIVERED
    assert resend_of(db, message) is not None


def test_a_refused_route_goes_by_the_fallback_provider_now(db: Session, clock: ModuleType) -> None:
    clock.freeze(START)
    message = sent_message(db)

    owed = apply_report(db, WITH_FALLBACK, report(message, failure=FailureKind.ROUTE))
    db.commit()

    resend = resend_of(db, message)
    assert resend is not None and owed == [resend.id]
    assert (resend.via, resend.phone, resend.next_attempt_at) == ("http", FAMILY, START)

    # The fallback could not reach it either, and the family gave no second mobile: final.
    resend.status, resend.provider_sid, resend.gateway = MessageStatus.QUEUED, "agg-1", "http"
    db.commit()
    assert apply_report(db, WITH_FALLBACK, report(resend, failure=FailureKind.ROUTE)) == []
    db.commit()
    assert resend_of(db, resend) is None


def test_a_route_without_a_fallback_is_taken_as_the_numbers_fault(
    db: Session, open_round: None
) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="70 999 888")
    db.commit()
    message = sent_message(db)

    owed = apply_report(db, PLAIN, report(message, failure=FailureKind.ROUTE))
    db.commit()

    resend = resend_of(db, message)
    assert resend is not None and owed == [resend.id]
    assert (resend.phone, resend.via) == ("+96170999888", None)


def test_a_number_that_cannot_take_sms_moves_to_the_second_mobile_once(
    db: Session, open_round: None
) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="71 999 888")
    db.commit()
    message = sent_message(db)

    owed = apply_report(db, PLAIN, report(message, failure=FailureKind.NUMBER))
    db.commit()

    moved = resend_of(db, message)
    assert moved is not None and owed == [moved.id]
    assert (moved.phone, moved.body, moved.capped) == (SECOND, message.body, False)

    # The second mobile cannot take it either: the chain already went there, nothing more.
    moved.status, moved.provider_sid = MessageStatus.QUEUED, "SMsecond"
    db.commit()
    assert apply_report(db, PLAIN, report(moved, failure=FailureKind.NUMBER)) == []
    db.commit()
    assert resend_of(db, moved) is None


def test_the_newest_application_with_the_phone_names_the_second_mobile(
    db: Session, open_round: None
) -> None:
    assert second_phone_for(db, FAMILY) is None
    submitted(db, 1, phone=FAMILY, second_phone="71 111 222")
    submitted(db, 2, phone=FAMILY)  # a newer form that gave none keeps the older one's
    db.commit()
    assert second_phone_for(db, FAMILY) == "+96171111222"

    submitted(db, 3, phone=FAMILY, second_phone="71 999 888")
    db.commit()
    assert second_phone_for(db, FAMILY) == SECOND


def test_no_new_try_to_a_number_that_sent_stop(db: Session, open_round: None) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="71 999 888")
    stop(db, SECOND)
    db.commit()
    first, second = sent_message(db), sent_message(db, purpose="status")

    apply_report(db, PLAIN, report(first, failure=FailureKind.NUMBER))  # the second said STOP
    stop(db, FAMILY)
    apply_report(db, PLAIN, report(second))  # the first said STOP since it was sent
    db.commit()

    assert resend_of(db, first) is None and resend_of(db, second) is None


@pytest.mark.parametrize(
    ("purpose", "failure"),
    [
        ("receipt", FailureKind.FINAL),  # the number opted out at the provider
        (OPT_CHOICE_PURPOSE, FailureKind.TEMPORARY),  # a STOP's confirmation, once only
        ("status_code", FailureKind.TEMPORARY),  # a ten-minute code: the citizen asks again
    ],
)
def test_what_is_never_tried_again(db: Session, purpose: str, failure: FailureKind) -> None:
    message = sent_message(db, purpose=purpose)

    apply_report(db, WITH_FALLBACK, report(message, failure=failure))
    db.commit()

    assert message.status == MessageStatus.UNDELIVERED and resend_of(db, message) is None


def test_a_staff_members_password_link_never_goes_to_a_familys_second_mobile(
    db: Session, open_round: None
) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="71 999 888")
    db.commit()
    message = sent_message(db, purpose="set_password")

    apply_report(db, PLAIN, report(message, failure=FailureKind.NUMBER))
    db.commit()

    assert resend_of(db, message) is None


@pytest.mark.parametrize(
    ("failure", "moved"),
    [
        (FailureKind.NUMBER, True),  # 21211, 21614: the number itself
        (FailureKind.ROUTE, True),  # the gateway already tried its fallback: the number next
        (FailureKind.TEMPORARY, False),  # a refusal for good is not tried again later
        (FailureKind.FINAL, False),  # 21610: the number opted out
    ],
)
def test_a_refusal_at_sending_moves_to_the_second_mobile_only_for_the_number(
    db: Session, open_round: None, failure: FailureKind, moved: bool
) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="71 999 888")
    message = sent_message(db)
    message.status = MessageStatus.FAILED

    resend = after_refusal(db, WITH_FALLBACK, message, failure)
    db.commit()

    assert (resend is not None and resend.phone == SECOND) is moved
    assert len(tries(db)) == (2 if moved else 1)


def test_a_message_the_primary_never_took_goes_by_the_fallback_once(db: Session) -> None:
    message = sent_message(db, gateway=None)
    message.status = MessageStatus.FAILED  # offered every attempt, refused for an outage

    assert by_fallback(db, PLAIN, message) is None  # no other provider
    resend = by_fallback(db, WITH_FALLBACK, message)
    assert resend is not None and (resend.via, resend.phone) == ("http", FAMILY)
    assert by_fallback(db, WITH_FALLBACK, message) is None  # already owed
    resend.status = MessageStatus.FAILED
    assert by_fallback(db, WITH_FALLBACK, resend) is None  # the fallback failed too: final
    db.commit()
    assert len(tries(db)) == 2


def test_two_reports_at_once_owe_one_new_try(race_engine: Engine) -> None:
    factory = make_sessionmaker(race_engine)
    with factory() as setup:
        message_id = sent_message(setup).id

    def apply(session: Session) -> list[int]:
        message = session.get(Message, message_id)
        assert message is not None
        return apply_report(session, PLAIN, report(message))

    owed = race(factory, apply)

    assert sorted(len(ids) for ids in owed) == [0, 0]  # owed later, by the schedule
    with factory() as check:
        assert len(check.scalars(select(Message).where(Message.resend_of == message_id)).all()) == 1


def test_two_deciders_at_once_write_one_new_try(race_engine: Engine) -> None:
    """Even past the row lock, `resend_of` is unique: the second insert yields, not fails."""
    factory = make_sessionmaker(race_engine)
    with factory() as setup:
        message = sent_message(setup)
        message.status = MessageStatus.UNDELIVERED
        setup.commit()
        message_id = message.id

    def decide(session: Session) -> list[int]:
        failed = session.get(Message, message_id)
        assert failed is not None
        made = after_failure(session, PLAIN, failed, FailureKind.TEMPORARY)
        return [made.id] if made else []

    made = race(factory, decide)

    assert sorted(len(ids) for ids in made) == [0, 1]


def race(factory: sessionmaker[Session], work: Callable[[Session], list[int]]) -> list[list[int]]:
    """`work(session)` in two threads at once, each committing; what each returned."""
    sessions = [factory(), factory()]
    together = threading.Barrier(2)
    results: list[list[int]] = [[], []]
    failures: list[BaseException] = []

    def run(n: int) -> None:
        together.wait()
        try:
            results[n] = work(sessions[n])
            sessions[n].commit()
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for session in sessions:
        session.close()
    assert failures == []
    return results


def test_an_application_keeps_its_second_mobile(db: Session, open_round: None) -> None:
    application = submitted(db, 1, phone=FAMILY, second_phone="٠٧١ ٩٩٩ ٨٨٨")
    db.commit()
    stored = db.get(Application, application.id)
    assert stored is not None and stored.second_phone == SECOND
