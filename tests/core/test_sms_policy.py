"""STOP and the daily cap hold on every path that texts a phone (core/sms_policy.py).

Each path is walked the way its user walks it (a call, an SMS, a console form, a command) on
SQLite and PostgreSQL; what reaches the phone is read at the fake Twilio server.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

import sms.jobs
from core.applications import Application
from core.calls import Call, CallStatus
from core.clock import BEIRUT
from core.db import make_sessionmaker, utcnow
from core.links import Link
from core.messages import Message, MessageStatus
from core.notifications import Sms, owe_text, withhold_if_stopped
from core.opt_outs import stop
from core.programme import set_window
from core.references import grouped
from core.roles import Role
from core.sms_policy import DAILY_CAP, OPT_CHOICE_PURPOSE, Occasion, Withheld
from core.tickets import Ticket, TicketCategory, open_ticket
from core.users import StaffUser
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.households import submitted
from tests.support.ivr_caller import Phone
from tests.support.staff_web import csrf, sign_in

FAMILY = "+9613123456"  # the phone on the family's form
STRANGERS = [f"+961711{n:05d}" for n in range(12)]


@pytest.fixture
def staffed_round(db: Session) -> None:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "test")
    make_user(db, Role.AGENT, "LB", "agent-1")
    make_user(db, Role.COMMITTEE, "LB", "committee-1")
    make_user(db, Role.FOCAL_POINT, HOME, "focal-1")
    db.commit()


@pytest.fixture
def family(db: Session, staffed_round: None) -> Application:
    application = submitted(db, 1, phone=FAMILY)
    db.commit()
    return application


def web_client(app: Flask, username: str | None = None) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    if username is not None:
        assert sign_in(client, username).status_code == 302
        client.get("/language/en")  # the staff's page in English; the citizen's SMS in theirs
    return client


def texts_to(fake_twilio: FakeTwilio, phone: str) -> list[str]:
    return [m["body"] for m in fake_twilio.messages if m["to"] == phone]


def withheld_rows(db: Session, phone: str) -> list[tuple[str, str | None]]:
    db.expire_all()
    stmt = (
        select(Message.purpose, Message.error_code)
        .where(Message.phone == phone, Message.status == MessageStatus.SUPPRESSED)
        .order_by(Message.id)
    )
    return [(purpose, code) for purpose, code in db.execute(stmt)]


def use_up_the_day(db: Session, phone: str) -> None:
    """Three notices already went to `phone` today (a status each, asked by others)."""
    for _n in range(DAILY_CAP):
        owing = owe_text(db, Sms(phone, "1766: status.", "en", "status"), Occasion.NOTICE)
        assert owing.sent
    db.commit()


def status_call(client: FlaskClient, caller: str, reference: str) -> None:
    """One whole call to the voice menu's status step, from `caller`."""
    phone = Phone(client, number=caller, sid="CA" + uuid.uuid4().hex)
    phone.choose("en", "2")
    said = " ".join(say.text or "" for say in phone.press(reference).iter("Say"))
    assert said.startswith("For your privacy, the status has been sent by SMS")


# -- the rules, at the one function ----------------------------------------------------------


@pytest.mark.parametrize("occasion", [o for o in Occasion if o is not Occasion.OPT_CHOICE])
def test_stop_withholds_every_kind_of_sms(db: Session, occasion: Occasion) -> None:
    stop(db, FAMILY)

    owing = owe_text(db, Sms(FAMILY, "1766: hello.", "en", "status"), occasion)

    assert not owing.sent and owing.withheld is Withheld.STOPPED
    message = db.get_one(Message, owing.message_id)
    assert (message.status, message.error_code) == (MessageStatus.SUPPRESSED, "stopped")


def test_the_confirmation_of_a_stop_is_the_one_sms_a_stopped_number_gets(db: Session) -> None:
    use_up_the_day(db, FAMILY)  # the cap does not hold it back
    stop(db, FAMILY)

    owing = owe_text(
        db, Sms(FAMILY, "1766: no more messages.", "en", OPT_CHOICE_PURPOSE), Occasion.OPT_CHOICE
    )

    assert owing.sent
    message = db.get_one(Message, owing.message_id)
    assert not withhold_if_stopped(db, message)  # the sender does not withhold it either
    assert message.status == MessageStatus.PENDING


def test_the_cap_counts_notices_only_and_frees_up_after_a_day(
    db: Session, clock: ModuleType
) -> None:
    clock.freeze(utcnow())
    use_up_the_day(db, FAMILY)

    capped = owe_text(db, Sms(FAMILY, "1766: status.", "en", "status"), Occasion.NOTICE)
    answer = owe_text(db, Sms(FAMILY, "1766: received.", "en", "receipt"), Occasion.ANSWER)
    decision = owe_text(db, Sms(FAMILY, "1766: decided.", "en", "list_result"), Occasion.DECISION)
    assert capped.withheld is Withheld.DAILY_CAP
    assert answer.sent and decision.sent  # exempt, and not counted either
    clock.advance(timedelta(days=1, seconds=1))
    assert owe_text(db, Sms(FAMILY, "1766: status.", "en", "status"), Occasion.NOTICE).sent


# -- the voice menu: the incident of the issue -------------------------------------------------


def test_twelve_strangers_calling_for_the_status_reach_a_stopped_family_with_nothing(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, family: Application
) -> None:
    stop(db, FAMILY)
    db.commit()
    before = len(texts_to(fake_twilio, FAMILY))
    client = web_client(sms_app)

    for stranger in STRANGERS:
        status_call(client, stranger, family.reference)

    assert texts_to(fake_twilio, FAMILY)[before:] == []
    assert withheld_rows(db, FAMILY) == [("status", "stopped")] * len(STRANGERS)


def test_twelve_strangers_calling_for_the_status_send_the_family_three_sms(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, family: Application
) -> None:
    before = len(texts_to(fake_twilio, FAMILY))  # the receipt
    client = web_client(sms_app)

    for stranger in STRANGERS:
        status_call(client, stranger, family.reference)

    assert len(texts_to(fake_twilio, FAMILY)[before:]) == DAILY_CAP
    assert withheld_rows(db, FAMILY) == [("status", "daily_cap")] * (len(STRANGERS) - DAILY_CAP)


def test_a_stopped_caller_asking_for_a_link_hears_why_and_gets_no_link(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    stop(db, FAMILY)
    db.commit()
    phone = Phone(web_client(sms_app), number=FAMILY)

    twiml = phone.choose("en", "1")

    said = " ".join(say.text or "" for say in twiml.iter("Say"))
    assert "sending STOP, so no SMS can be sent to it. Send START to 1766" in said
    assert fake_twilio.messages == []
    assert db.scalars(select(Link).where(Link.phone == FAMILY)).all() == []


def test_a_link_keyed_in_for_another_phone_is_a_notice_under_the_cap(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    use_up_the_day(db, FAMILY)
    phone = Phone(web_client(sms_app), number="+9611123456")  # a landline keys in the mobile
    phone.choose("fr", "1", "03123456")

    twiml = phone.press("1")

    said = " ".join(say.text or "" for say in twiml.iter("Say"))
    assert "Ce numéro a déjà reçu ses messages du 1766 pour aujourd'hui" in said
    assert texts_to(fake_twilio, FAMILY) == []
    assert db.scalars(select(Link).where(Link.phone == FAMILY)).all() == []


def test_a_link_asked_from_the_own_phone_is_an_answer_past_the_cap(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    use_up_the_day(db, FAMILY)
    phone = Phone(web_client(sms_app), number=FAMILY)

    phone.choose("en", "1")

    (link_sms,) = texts_to(fake_twilio, FAMILY)
    assert "/f/" in link_sms


# -- the hotline console: the ticket number the agent promises ---------------------------------


def queued_call(db: Session, phone: str = FAMILY, language: str = "fr") -> Call:
    call = Call(
        call_sid="CA" + uuid.uuid4().hex,
        direction="inbound",
        phone=phone,
        language=language,
        status=CallStatus.QUEUED,
        started_at=utcnow(),
        queued_at=utcnow(),
    )
    db.add(call)
    db.commit()
    return call


def log_ticket(agent: FlaskClient, call: Call) -> tuple[str, str]:
    """The agent logs a complaint during the call; the ticket page it lands on, and its URL."""
    answer = agent.post(
        f"/hotline/calls/{call.id}/tickets",
        data={"category": "distribution", "text": "", "csrf_token": csrf(agent, "/hotline")},
    )
    assert answer.status_code == 302
    return agent.get(answer.location).get_data(as_text=True), answer.location


def test_the_agent_logged_ticket_number_goes_to_the_caller_in_the_calls_language(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    call = queued_call(db, language="fr")
    agent = web_client(sms_app, "agent-1")

    page, _url = log_ticket(agent, call)

    ticket = db.scalars(select(Ticket)).one()
    (sent,) = texts_to(fake_twilio, FAMILY)
    assert f"{ticket.number[:4]} {ticket.number[4:]}" in sent
    assert "votre réclamation est enregistrée" in sent  # the call was in French
    assert 'id="sms-sent"' in page and 'id="sms-withheld"' not in page


def test_the_agent_logged_ticket_is_not_texted_to_a_stopped_number_and_the_page_says_so(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    stop(db, FAMILY)
    call = queued_call(db)
    agent = web_client(sms_app, "agent-1")

    page, _url = log_ticket(agent, call)

    assert db.scalars(select(Ticket)).one().phone == FAMILY  # the ticket is logged
    assert fake_twilio.messages == []
    assert 'data-reason="stopped"' in page and "No SMS was sent" in page
    assert withheld_rows(db, FAMILY) == [("ticket", "stopped")]


def test_the_agent_logged_ticket_is_a_notice_under_the_cap(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    use_up_the_day(db, FAMILY)
    call = queued_call(db)
    agent = web_client(sms_app, "agent-1")

    page, _url = log_ticket(agent, call)

    assert fake_twilio.messages == []
    assert 'data-reason="daily_cap"' in page


def test_a_landline_callers_ticket_is_read_out_not_texted(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    call = queued_call(db, phone="+9611123456")
    agent = web_client(sms_app, "agent-1")

    page, _url = log_ticket(agent, call)

    assert fake_twilio.messages == []
    assert 'data-reason="no_mobile"' in page


def test_a_decision_goes_past_the_cap_but_never_past_stop(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    use_up_the_day(db, FAMILY)
    tickets = [
        open_ticket(db, phone=FAMILY, channel="sms", language="en", category=TicketCategory.OTHER)
        for _n in range(2)
    ]
    db.commit()
    agent = web_client(sms_app, "agent-1")

    def decide(ticket: Ticket) -> str:
        path = f"/hotline/tickets/{ticket.id}/decide"
        data = {"status": "resolved", "note": "Done.", "csrf_token": csrf(agent, "/hotline")}
        return agent.get(agent.post(path, data=data).location).get_data(as_text=True)

    decide(tickets[0])
    stop(db, FAMILY)
    db.commit()
    stopped_page = decide(tickets[1])

    (sent,) = texts_to(fake_twilio, FAMILY)
    assert tickets[0].number[:4] in sent
    assert 'data-reason="stopped"' in stopped_page


def test_a_correction_link_is_not_issued_to_a_stopped_family(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, family: Application
) -> None:
    ticket = open_ticket(
        db, phone="+96171000001", channel="sms", language="en", category=TicketCategory.OTHER
    )
    ticket.application_id = family.id
    stop(db, FAMILY)
    db.commit()
    before = len(fake_twilio.messages)
    agent = web_client(sms_app, "agent-1")

    answer = agent.post(
        f"/hotline/tickets/{ticket.id}/correction-link",
        data={"csrf_token": csrf(agent, "/hotline")},
    )

    assert "sms=stopped" in answer.location
    assert 'data-reason="stopped"' in agent.get(answer.location).get_data(as_text=True)
    assert len(fake_twilio.messages) == before
    assert db.scalars(select(Link).where(Link.phone == FAMILY)).all() == []


# -- the municipality's console, the acknowledgement, the send itself --------------------------


@pytest.mark.parametrize(
    ("stopped", "words"),
    [(True, "sent STOP to 1766"), (False, "received its three messages from 1766 today")],
)
def test_the_console_refuses_a_link_that_could_not_be_texted(
    sms_app: Flask,
    db: Session,
    fake_twilio: FakeTwilio,
    staffed_round: None,
    stopped: bool,
    words: str,
) -> None:
    if stopped:
        stop(db, FAMILY)
        db.commit()
    else:
        use_up_the_day(db, FAMILY)
    focal = web_client(sms_app, "focal-1")

    answer = focal.post(
        "/console/links",
        data={"phone": "03 123 456", "language": "ar", "csrf_token": csrf(focal, "/console/links")},
    )

    assert answer.status_code == 400
    assert words in answer.get_data(as_text=True)
    assert fake_twilio.messages == []
    assert db.scalars(select(Link).where(Link.phone == FAMILY)).all() == []


def test_the_acknowledgement_is_exempt_from_the_cap_but_not_from_stop(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None
) -> None:
    from core.receipts import owe_receipt
    from texts.sms import compose

    use_up_the_day(db, FAMILY)
    with sms_app.test_request_context():
        capped_day = owe_receipt(db, submitted(db, 1, phone=FAMILY), compose)
        stop(db, "+9613999999")
        stopped = owe_receipt(db, submitted(db, 2, phone="+9613999999"), compose)
    assert db.get_one(Message, capped_day).status == MessageStatus.PENDING
    assert db.get_one(Message, stopped).error_code == "stopped"


def test_a_stop_that_arrives_after_the_sms_was_owed_still_stops_it(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio
) -> None:
    owing = owe_text(db, Sms(FAMILY, "1766: decided.", "en", "list_result"), Occasion.DECISION)
    stop(db, FAMILY)
    db.commit()

    with sms_app.app_context():
        sms.jobs.send_message(owing.message_id)

    assert fake_twilio.messages == []
    assert withheld_rows(db, FAMILY) == [("list_result", "stopped")]


# -- the cap holds when requests race (real connections, on each store) ----------------------


@pytest.fixture
def racing(engine: Engine) -> Iterator[tuple[sessionmaker[Session], str]]:
    """Sessions on their own connections, and a phone of this test alone (cleaned after).

    On PostgreSQL the advisory lock is what holds the cap; on SQLite, `BEGIN IMMEDIATE`."""
    phone = "+9617" + f"{uuid.uuid4().int % 10**7:07d}"
    factory = make_sessionmaker(engine)
    yield factory, phone
    with factory.begin() as session:
        session.execute(delete(Message).where(Message.phone == phone))


def test_twenty_racing_notices_send_exactly_the_cap(
    racing: tuple[sessionmaker[Session], str],
) -> None:
    factory, phone = racing
    start = threading.Barrier(20)
    failures: list[BaseException] = []

    def notify() -> None:
        try:
            with factory.begin() as session:
                start.wait(timeout=30)
                owe_text(session, Sms(phone, "1766: status.", "en", "status"), Occasion.NOTICE)
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=notify) for _n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    with factory() as session:
        counted = session.execute(
            select(Message.status, func.count())
            .where(Message.phone == phone)
            .group_by(Message.status)
        ).all()
    assert dict(counted) == {MessageStatus.PENDING: DAILY_CAP, MessageStatus.SUPPRESSED: 17}


# -- the weekly-needs reminder and the list outcome --------------------------------------------


def test_a_reminder_waits_while_the_focal_points_day_is_used_up(
    app: Flask, db: Session, clock: ModuleType
) -> None:
    from core.needs import remind
    from texts.sms import compose

    load_sample_geography(db)
    make_user(db, Role.FOCAL_POINT, HOME, "focal-r").phone = FAMILY
    after = datetime(2020, 4, 15, 12, 1, tzinfo=BEIRUT)  # past that week's deadline
    clock.freeze(after)
    use_up_the_day(db, FAMILY)

    with app.app_context():
        assert remind(db, after, compose) == []  # a notice past the cap: not yet
        next_day = clock.advance(timedelta(days=1, seconds=1))  # Thursday: the same week
        (later,) = remind(db, next_day, compose)

    assert db.get_one(Message, later).status == MessageStatus.PENDING


def test_a_list_outcome_is_a_decision_past_the_cap(db: Session, staffed_round: None) -> None:
    from scoring.publishing import publish_batch
    from tests.support.list_factories import make_list

    application = submitted(db, 1, phone=FAMILY)
    unpublished = make_list(db, [application], published=False)
    use_up_the_day(db, FAMILY)

    batch = publish_batch(
        db, unpublished, lambda _said, _language: "1766: you are on the list.", lambda *_: None
    )

    assert len(batch.message_ids) == 1 and batch.stopped == 0
    assert db.get_one(Message, batch.message_ids[0]).status == MessageStatus.PENDING


def test_owe_text_is_the_only_way_to_owe_an_sms() -> None:
    """Every path goes through core.notifications.owe_text: nothing else writes outbound SMS."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = []
    for package in ("core", "scoring", "web", "webforms", "sms", "ivr", "hotline", "cli"):
        for path in (root / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            if path.relative_to(root).as_posix() == "core/notifications.py":
                continue
            # The SMS consumers log inbound messages in one insert (sms/keyword_work.py): a
            # writer of messages that never names an outbound one is not owing an SMS.
            inserts = "insert(table(Message)" in source and "Direction.OUTBOUND" in source
            if "direction=Direction.OUTBOUND" in source or inserts:
                writers.append(path.relative_to(root).as_posix())
    assert writers == []


# -- the other paths: a correction's decision, a correction link, a recorded complaint ---------


@pytest.mark.parametrize("stopped", [True, False])
def test_a_correction_decision_goes_past_the_cap_but_never_past_stop(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, family: Application, stopped: bool
) -> None:
    from core.clock import beirut_today
    from core.correction_changes import Change
    from core.correction_decisions import log_correction
    from core.corrections import CorrectionSource

    agent = db.scalars(select(StaffUser).where(StaffUser.username == "agent-1")).one()
    ticket = open_ticket(
        db,
        phone=FAMILY,
        channel="agent",
        language="en",
        category=TicketCategory.CORRECTION,
        application=family,
    )
    correction = log_correction(
        db,
        ticket,
        family,
        [Change("rooms", "3", "a room was built", "permit")],
        source=CorrectionSource.AGENT,
        logged_by_id=agent.id,
        actor=agent.username,
        today=beirut_today(),
    )
    use_up_the_day(db, FAMILY)
    if stopped:
        stop(db, FAMILY)
        db.commit()
    before = len(texts_to(fake_twilio, FAMILY))
    committee = web_client(sms_app, "committee-1")

    answer = committee.post(
        f"/hotline/corrections/{correction.id}/decide",
        data={"decision": "approve", "csrf_token": csrf(committee, "/hotline")},
    )

    page = committee.get(answer.location).get_data(as_text=True)
    sent = texts_to(fake_twilio, FAMILY)[before:]
    if stopped:
        assert sent == [] and 'data-reason="stopped"' in page
    else:
        (decision,) = sent
        assert grouped(family.reference) in decision and 'id="sms-withheld"' not in page


def test_a_correction_link_is_a_notice_under_the_cap(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, family: Application
) -> None:
    ticket = open_ticket(
        db, phone="+96171000001", channel="sms", language="en", category=TicketCategory.OTHER
    )
    ticket.application_id = family.id
    use_up_the_day(db, FAMILY)
    agent = web_client(sms_app, "agent-1")

    answer = agent.post(
        f"/hotline/tickets/{ticket.id}/correction-link",
        data={"csrf_token": csrf(agent, "/hotline")},
    )

    assert "sms=daily_cap" in answer.location
    assert db.scalars(select(Link).where(Link.phone == FAMILY)).all() == []


@pytest.mark.parametrize("stopped", [True, False])
def test_a_recorded_complaints_number_is_an_answer_past_the_cap_never_past_stop(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, staffed_round: None, stopped: bool
) -> None:
    use_up_the_day(db, FAMILY)
    if stopped:
        stop(db, FAMILY)
        db.commit()
    phone = Phone(web_client(sms_app), number=FAMILY)
    phone.choose("en", "3", "1")

    phone.record()

    number = db.scalars(select(Ticket.number)).one()
    sent = texts_to(fake_twilio, FAMILY)
    assert sent == [] if stopped else number[4:] in sent[0]


def test_the_citizens_own_correction_ticket_is_an_answer_past_the_cap(
    sms_app: Flask, db: Session, family: Application
) -> None:
    from core.receipts import owe_correction_ticket
    from texts.sms import compose

    ticket = open_ticket(
        db, phone=FAMILY, channel="sms", language="en", category=TicketCategory.CORRECTION
    )
    use_up_the_day(db, FAMILY)
    with sms_app.test_request_context():
        message_id = owe_correction_ticket(db, family, ticket, "en", compose)
    assert db.get_one(Message, message_id).status == MessageStatus.PENDING
