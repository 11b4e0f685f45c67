"""Delivery that does not give up, end to end on the fake Twilio: a signed receipt of an
undelivered SMS owes a new try that Twilio receives once its wait has passed and the outbox
runs (the sweep, without Redis), and a number Twilio refuses for good moves to the family's
second mobile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms.jobs
from core.messages import Message, MessageStatus
from core.notifications import Sms, owe_text
from core.sms_policy import Occasion
from tests.plugins.fake_twilio import AUTH_TOKEN, FakeTwilio, Poster
from tests.support.households import submitted
from tests.support.twilio_requests import PUBLIC

FAMILY = "+9613123456"
SECOND = "+96171999888"
START = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)
BODY = "تم استلام طلبك، الرقم 1234 5678 90."


def owe_receipt(db: Session) -> int:
    owing = owe_text(db, Sms(FAMILY, BODY, "ar", "receipt"), Occasion.ANSWER)
    db.commit()
    return owing.message_id


def poster(client: FlaskClient) -> Poster:
    """The fake Twilio's receipts posted through the app's test client (signed as sent)."""

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
        return client.post(url.removeprefix(PUBLIC), data=form, headers=headers).status_code

    return post


def to_phones(fake: FakeTwilio) -> list[str]:
    return [str(m["to"]) for m in fake.messages]


def chain(db: Session) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).order_by(Message.id)))


def test_an_undelivered_receipt_is_sent_again_once_its_wait_has_passed(
    sms_app: Flask, sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, clock: ModuleType
) -> None:
    clock.freeze(START)
    first = owe_receipt(db)
    sms.jobs.sweep()
    assert to_phones(fake_twilio) == [FAMILY]

    answers = fake_twilio.send_status_callbacks(
        PUBLIC,
        AUTH_TOKEN,
        ["undelivered"],
        post=poster(sms_client),
    )  # ErrorCode 30003: the handset was off
    assert answers == [204]
    failed, again = chain(db)
    assert (failed.id, failed.status, failed.error_code) == (first, "undelivered", "30003")
    assert (again.resend_of, again.status, again.phone) == (first, MessageStatus.PENDING, FAMILY)

    clock.advance(timedelta(seconds=59))
    sms.jobs.sweep()
    assert to_phones(fake_twilio) == [FAMILY]  # not a second before the schedule's minute

    clock.advance(timedelta(seconds=1))
    sms.jobs.sweep()
    assert to_phones(fake_twilio) == [FAMILY, FAMILY]
    assert fake_twilio.messages[1]["body"] == BODY
    assert chain(db)[1].status == MessageStatus.QUEUED

    # Twilio posts the same receipt again (its retry): nothing more is owed.
    fake_twilio.send_status_callbacks(
        PUBLIC,
        AUTH_TOKEN,
        ["undelivered"],
        post=poster(sms_client),
    )
    assert [m.resend_of for m in chain(db)] == [None, first, again.id]


@pytest.mark.parametrize("code", [21614, 21211])  # not a mobile; not a valid number
def test_a_number_twilio_refuses_for_good_moves_to_the_second_mobile(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, open_round: None, code: int
) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="71 999 888")
    db.commit()
    fake_twilio.fail_next(status=400, code=code)
    first = owe_receipt(db)

    sms.jobs.sweep()  # refused for good at once
    sms.jobs.sweep()  # the new try, owed now, goes to the second mobile

    assert to_phones(fake_twilio) == [SECOND]
    failed, moved = chain(db)[-2:]
    assert (failed.id, failed.status, failed.error_code) == (first, "failed", str(code))
    assert (moved.resend_of, moved.phone, moved.body) == (first, SECOND, BODY)


def test_a_number_that_opted_out_at_twilio_gets_nothing_more(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    submitted(db, 1, phone=FAMILY, second_phone="71 999 888")
    db.commit()
    fake_twilio.fail_next(status=400, code=21610)  # the number sent STOP to our sender
    owe_receipt(db)

    sms.jobs.sweep()
    sms.jobs.sweep()

    assert to_phones(fake_twilio) == []
    assert [m.status for m in chain(db) if m.purpose == "receipt"][-1] == MessageStatus.FAILED
    assert all(m.resend_of is None for m in chain(db))
