"""SMS to 1766 over HTTP, the way Twilio posts them: every keyword in every language, the
replies a citizen reads, the SMS that reach the fake Twilio, retries, floods and failures.

Here the service has no Redis (the embedded defaults): the webhook keeps each SMS in the
store's inbox and decides it in the same request, as inline jobs run, so a reply has reached
the fake Twilio when the webhook answers. tests/sms/test_sms_buffer.py runs the same path through
the Redis Stream and separate consumers."""

from __future__ import annotations

import itertools
import logging
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import sms.consumer as consumer
import sms.keyword_work as keyword_work
from core.applications import Application, ApplicationStatus
from core.db import utcnow
from core.inbox import RawSms
from core.link_lifecycle import issue_link
from core.links import Channel, Link
from core.messages import Direction, Message
from core.opt_outs import has_stopped
from core.programme import set_window
from core.references import check_digit, grouped
from core.segments import segments
from core.sms_policy import DAILY_CAP
from core.tickets import Ticket
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.citizen_sms import (
    CITIZEN,
    HELP,
    accepted,
    inbound_form,
    others,
    replies_since,
    text,
)
from tests.support.factories import load_sample_geography
from tests.support.twilio_requests import (
    HOTLINE,
    PUBLIC,
    post_signed,
    signature,
)

AS_TYPED = "03 123 456"  # the same number, as a citizen would write it
RELATIVE = "+96171234567"
FOREIGN = "+447700900123"
ARABIC = re.compile(r"[\u0600-\u06ff]")

STOPPED = "1766: you will receive no more messages. Send START to receive them again."
STARTED = "1766: you will receive messages from 1766 again. Send STOP to stop them."
BAD_REFERENCE = (
    "1766: please check the reference. Send STATUS followed by the 10 digits of your reference."
)
ELSEWHERE = "1766: the status of an application is sent only to the phone number on its form."
NO_COMPLAINT = "1766: write your complaint after the word COMPLAINT, in the same SMS."
COMPLAINT_NOT_LEBANESE = (
    "1766: complaints by SMS are taken only from Lebanese mobile numbers. Please call 1766."
)
LINK_NOT_LEBANESE = (
    "1766: form links are sent only to Lebanese mobile numbers. Send LINK from a Lebanese mobile."
)
WINDOW_CLOSED = "1766: forms are not being accepted at the moment, so no link can be sent."
TOO_MANY_LINKS = (
    "1766: this number has had its form links for today. Use the latest one, or try again tomorrow."
)
FLOOD = "1766: too many messages from this number. Please wait before writing again, or call 1766."
APOLOGY = "1766: sorry, your message could not be handled. Please try again later, or call 1766."

# -- the service, Twilio's requests, and what the citizen reads ----------------------------


def said(app: Flask, language: str, msgid: str, **variables: str) -> str:
    """What the catalogs make of `msgid` in `language`."""
    with app.test_request_context(), force_locale(language):
        return _(msgid, **variables)


def in_language(app: Flask, reply: str, language: str, msgid: str) -> None:
    """`reply` is `msgid` as translated for `language`, and really in that language."""
    assert reply == said(app, language, msgid)
    if language == "ar":
        assert ARABIC.search(reply), reply
    elif language == "fr":
        assert reply != msgid, "no French translation yet"


def sent_to(fake_twilio: FakeTwilio, phone: str) -> list[str]:
    """The SMS other than replies that reached `phone`."""
    return [m["body"] for m in others(fake_twilio) if m["to"] == phone]


_references = itertools.count(1)


def make_application(db: Session, phone: str = CITIZEN, language: str = "ar") -> Application:
    """A family's application, as a submitted form leaves it."""
    link, _token = issue_link(db, None, phone, language, Channel.HOTLINE)
    shift = next(_references) % 9
    body = "123456789"[shift:] + "123456789"[:shift]  # distinct digits: every swap shows
    application = Application(
        reference=body + check_digit(body),
        programme_id=link.programme_id,
        link_id=link.id,
        channel=Channel.HOTLINE,
        phone=phone,
        language=language,
        status=ApplicationStatus.RECEIVED,
        data="{}",
        submitted_at=utcnow(),
    )
    db.add(application)
    db.commit()
    return application


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def arabic_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def persian_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


# -- HELP and anything else ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("مساعدة", "ar"),
        ("HELP", "en"),
        ("AIDE", "fr"),
        ("help", "en"),
        ("Aide", "fr"),
        ("مُسَاعَدَه", "ar"),
        ("مرحبا، كيف أسجل؟", "ar"),
        ("hello, how do I register?", "en"),
        ("bonjour, ça marche comment ?", "fr"),
        ("", "ar"),
        ("😀🙏", "ar"),
        ("x" * 1600, "en"),
        ("ب" * 1600, "ar"),
    ],
    ids=[
        "help-ar",
        "help-en",
        "help-fr",
        "help-lower",
        "aide-mixed",
        "help-diacritics",
        "unknown-ar",
        "unknown-en",
        "unknown-fr",
        "empty",
        "emoji",
        "1600-latin",
        "1600-arabic",
    ],
)
def test_help_and_anything_else_get_the_help_text_in_their_language(
    sms_app: Flask, sms_client: FlaskClient, fake_twilio: FakeTwilio, body: str, language: str
) -> None:
    (reply,) = text(sms_client, body)

    in_language(sms_app, reply, language, HELP)
    assert others(fake_twilio) == []  # the reply is the only SMS


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_every_reply_fits_one_sms(sms_app: Flask, language: str) -> None:
    """Arabic in one UCS-2 segment (70), English and French in one GSM-7 segment (160)."""
    expected = ("UCS-2", 1) if language == "ar" else ("GSM-7", 1)
    for msgid in (HELP, STOPPED, STARTED, BAD_REFERENCE, ELSEWHERE, NO_COMPLAINT, FLOOD):
        assert segments(said(sms_app, language, msgid)) == expected, msgid
    for msgid in (LINK_NOT_LEBANESE, COMPLAINT_NOT_LEBANESE, WINDOW_CLOSED, TOO_MANY_LINKS):
        assert segments(said(sms_app, language, msgid)) == expected, msgid
    assert segments(said(sms_app, language, APOLOGY)) == expected


# -- LINK ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("رابط", "ar"),
        ("LINK", "en"),
        ("LIEN", "fr"),
        ("Link", "en"),
        ("lIeN", "fr"),
        ("الرابط", "ar"),
    ],
)
def test_link_sends_a_one_time_link_to_the_sender_in_their_language(
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    open_round: None,
    body: str,
    language: str,
) -> None:
    assert text(sms_client, body, phone=AS_TYPED) == []  # the link SMS itself is the answer

    (sms_body,) = sent_to(fake_twilio, CITIZEN)
    assert f"{PUBLIC}/f/" in sms_body
    link = db.scalars(select(Link)).one()
    assert (link.phone, link.language, link.channel) == (CITIZEN, language, Channel.HOTLINE)


def test_a_fourth_link_in_a_day_is_refused_and_the_last_one_still_works(
    sms_app: Flask, sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    for _attempt in range(3):
        assert text(sms_client, "LINK") == []

    (reply,) = text(sms_client, "LINK")

    assert reply == said(sms_app, "en", TOO_MANY_LINKS)
    assert len(sent_to(fake_twilio, CITIZEN)) == 3
    assert [link.is_usable() for link in db.scalars(select(Link).order_by(Link.id))] == [
        False,
        False,
        True,
    ]


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_no_link_outside_the_window(
    sms_app: Flask, sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, language: str
) -> None:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=10), utcnow() - timedelta(days=1), "test")
    db.commit()
    word = {"ar": "رابط", "en": "LINK", "fr": "LIEN"}[language]

    (reply,) = text(sms_client, word)

    in_language(sms_app, reply, language, WINDOW_CLOSED)
    assert others(fake_twilio) == []
    assert count(db, Link) == 0


@pytest.mark.parametrize(
    ("phone", "body", "language"),
    [(FOREIGN, "LINK", "en"), ("+9611234567", "رابط", "ar")],
    ids=["foreign", "landline"],
)
def test_links_go_only_to_lebanese_mobiles(
    sms_app: Flask,
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    open_round: None,
    phone: str,
    body: str,
    language: str,
) -> None:
    (reply,) = text(sms_client, body, phone=phone)

    in_language(sms_app, reply, language, LINK_NOT_LEBANESE)
    assert others(fake_twilio) == []
    assert count(db, Link) == 0


def test_a_sender_no_sms_can_reach_is_decided_and_not_answered(
    sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    """An alphanumeric or malformed `From` (a provider's test, a spoofed id): the message is
    logged and nothing is sent, not even the refusal."""
    assert text(sms_client, "LIEN", phone="not-a-number") == []

    assert fake_twilio.messages == []
    assert count(db, Link) == 0
    logged = db.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert logged.phone == "not-a-number"


# -- STATUS --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "language"),
    [
        ("حالة {ascii}", "ar"),
        ("STATUS {ascii}", "en"),
        ("STATUT {ascii}", "fr"),
        ("status {grouped}", "en"),
        ("حَالَة {arabic}", "ar"),
        ("حاله {persian}", "ar"),
        ("Statut: {arabic}", "fr"),
        ("الحالة رقم {persian}", "ar"),
    ],
)
def test_status_from_the_applications_phone_is_answered_at_once(
    sms_app: Flask,
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    open_round: None,
    template: str,
    language: str,
) -> None:
    application = make_application(db)
    reference = application.reference
    body = template.format(
        ascii=reference,
        grouped=grouped(reference),
        arabic=arabic_digits(reference),
        persian=persian_digits(reference),
    )

    (reply,) = text(sms_client, body)

    expected = "Application %(reference)s: received, being assessed."
    assert reply == said(sms_app, language, expected, reference=grouped(reference))
    assert grouped(reference) in reply
    assert others(fake_twilio) == []


def test_status_asked_from_another_phone_goes_to_the_applications_phone(
    sms_app: Flask, sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    application = make_application(db, CITIZEN, language="fr")

    (reply,) = text(sms_client, f"STATUS {application.reference}", phone=RELATIVE)

    assert reply == said(sms_app, "en", ELSEWHERE)
    assert grouped(application.reference) not in reply  # the asker learns nothing
    (pushed,) = sent_to(fake_twilio, CITIZEN)
    assert grouped(application.reference) in pushed
    assert sent_to(fake_twilio, RELATIVE) == []


def test_an_unknown_reference_gets_the_same_reply_and_no_sms(
    sms_app: Flask, sms_client: FlaskClient, fake_twilio: FakeTwilio, open_round: None
) -> None:
    unknown = "987654321" + check_digit("987654321")

    (reply,) = text(sms_client, f"حالة {unknown}", phone=RELATIVE)

    assert reply == said(sms_app, "ar", ELSEWHERE)
    assert others(fake_twilio) == []


def test_the_family_is_not_pestered_with_status_sms_asked_by_others(
    sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    application = make_application(db, CITIZEN)

    for _attempt in range(5):
        text(sms_client, f"STATUS {application.reference}", phone=RELATIVE)

    assert len(sent_to(fake_twilio, CITIZEN)) == DAILY_CAP


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("STATUS", "en"),
        ("حالة", "ar"),
        ("STATUT pas encore reçu", "fr"),
        ("STATUS {wrong}", "en"),
        ("حالة {wrong_arabic}", "ar"),
        ("STATUT {swapped}", "fr"),
        ("STATUS 12345", "en"),
    ],
    ids=["none", "none-ar", "words", "wrong-digit", "wrong-digit-ar", "swap", "short"],
)
def test_a_reference_that_does_not_check_out_gets_asked_again(
    sms_app: Flask,
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    open_round: None,
    body: str,
    language: str,
) -> None:
    reference = make_application(db).reference
    wrong = reference[:4] + str((int(reference[4]) + 1) % 10) + reference[5:]
    swapped = reference[:2] + reference[3] + reference[2] + reference[4:]

    (reply,) = text(
        sms_client,
        body.format(wrong=wrong, wrong_arabic=arabic_digits(wrong), swapped=swapped),
    )

    in_language(sms_app, reply, language, BAD_REFERENCE)
    assert others(fake_twilio) == []


# -- COMPLAINT -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "complaint", "language"),
    [
        ("شكوى لم يصلني أي رد", "لم يصلني أي رد", "ar"),
        ("COMPLAINT nobody called me back", "nobody called me back", "en"),
        ("PLAINTE: personne ne m'a rappelé", "personne ne m'a rappelé", "fr"),
        ("complaint the focal point refused my form", "the focal point refused my form", "en"),
        ("شَكْوَي: المختار رفض", "المختار رفض", "ar"),
    ],
)
def test_a_complaint_opens_a_ticket_and_its_number_comes_by_sms(
    sms_app: Flask,
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    body: str,
    complaint: str,
    language: str,
) -> None:
    assert text(sms_client, body, phone=AS_TYPED) == []  # the SMS with the number is the answer

    ticket = db.scalars(select(Ticket)).one()
    assert (ticket.text, ticket.phone, ticket.channel, ticket.language) == (
        complaint,
        CITIZEN,
        "sms",
        language,
    )
    (sms_body,) = sent_to(fake_twilio, CITIZEN)
    assert f"{ticket.number[:4]} {ticket.number[4:]}" in sms_body
    logged = db.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert complaint not in logged.body  # the text is kept once, on the ticket


@pytest.mark.parametrize(
    ("body", "language"), [("شكوى", "ar"), ("COMPLAINT", "en"), ("PLAINTE", "fr")]
)
def test_a_complaint_without_text_asks_for_it(
    sms_app: Flask, sms_client: FlaskClient, db: Session, body: str, language: str
) -> None:
    (reply,) = text(sms_client, body)

    in_language(sms_app, reply, language, NO_COMPLAINT)
    assert count(db, Ticket) == 0


def test_complaints_by_sms_come_from_lebanese_mobiles(
    sms_app: Flask, sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio
) -> None:
    (reply,) = text(sms_client, "COMPLAINT nobody answers", phone=FOREIGN)

    assert reply == said(sms_app, "en", COMPLAINT_NOT_LEBANESE)
    assert count(db, Ticket) == 0
    assert others(fake_twilio) == []


# -- STOP and START ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "start", "language"),
    [
        ("STOP", "START", "en"),
        ("stop", "Start", "en"),
        ("توقف", "ابدأ", "ar"),
        ("إيقاف", "بدء", "ar"),
        ("ايقاف", "ابدا", "ar"),
        ("Arrêt", "START", "fr"),
    ],
)
def test_stop_and_start(
    sms_app: Flask, sms_client: FlaskClient, db: Session, stop: str, start: str, language: str
) -> None:
    (stopped,) = text(sms_client, stop)
    assert has_stopped(db, CITIZEN)

    (started,) = text(sms_client, start)
    assert not has_stopped(db, CITIZEN)

    if language != "fr":  # START is English: its confirmation is too
        in_language(sms_app, started, language, STARTED)
    in_language(sms_app, stopped, language, STOPPED)


def test_after_stop_a_status_asked_by_another_phone_sends_nothing_to_the_stopped_number(
    sms_app: Flask, sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    application = make_application(db, CITIZEN)
    text(sms_client, "توقف", phone=CITIZEN)

    (reply,) = text(sms_client, f"STATUS {application.reference}", phone=RELATIVE)

    assert reply == said(sms_app, "en", ELSEWHERE)  # the same reply: nothing is revealed
    assert others(fake_twilio) == []


def test_after_stop_nothing_reaches_the_number_but_the_stop_confirmation(
    sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio, open_round: None
) -> None:
    """STOP is absolute (core/sms_policy.py): requests are still done, nothing is texted."""
    application = make_application(db, CITIZEN)
    links = select(func.count()).select_from(Link).where(Link.phone == CITIZEN)
    links_before = db.scalar(links)
    assert len(text(sms_client, "STOP")) == 1

    assert text(sms_client, f"STATUS {application.reference}") == []
    assert text(sms_client, "COMPLAINT still waiting") == []
    assert text(sms_client, "LINK") == []
    assert text(sms_client, "HELP") == []

    assert sent_to(fake_twilio, CITIZEN) == []
    assert count(db, Ticket) == 1  # the complaint is filed all the same
    assert db.scalar(links) == links_before  # no link issued that nobody would read
    (confirmed,) = text(sms_client, "START")
    assert confirmed == STARTED


def test_stop_from_a_foreign_number_is_confirmed_and_nothing_is_sent_there(
    sms_app: Flask, sms_client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    (reply,) = text(sms_client, "STOP", phone=FOREIGN)

    assert reply == said(sms_app, "en", STOPPED)
    assert others(fake_twilio) == []


# -- retries, signatures, floods, failures -------------------------------------------------


def test_a_replayed_message_sid_does_nothing_twice(
    sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio
) -> None:
    form = inbound_form("COMPLAINT the distribution skipped our street")
    accepted(post_signed(sms_client, "/sms/inbound", form))
    accepted(post_signed(sms_client, "/sms/inbound", form))

    assert count(db, Ticket) == 1
    assert len(fake_twilio.messages) == 1
    assert count(db, Message) == 2  # the inbound SMS and the ticket's SMS, each once


def test_a_replayed_help_is_answered_once(sms_client: FlaskClient) -> None:
    form = inbound_form("HELP")

    first = text(sms_client, "HELP", sid=form["MessageSid"])
    again = text(sms_client, "HELP", sid=form["MessageSid"])

    assert len(first) == 1
    assert again == []


def test_a_duplicate_racing_the_first_decision_keeps_one_ticket_and_one_sms(
    sms_app: Flask,
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two consumers read the same message before either committed; the second loses on the
    unique MessageSid and its half-done work is rolled back."""
    form = inbound_form("COMPLAINT nobody came")
    accepted(post_signed(sms_client, "/sms/inbound", form))
    monkeypatch.setattr(consumer.inbox, "decided", lambda session, sids: set())  # looked early

    raw = RawSms(form["MessageSid"], form["From"], form["To"], form["Body"], utcnow())
    with sms_app.app_context():
        report = consumer.decide_batch(
            sms_app.extensions["intake.sessionmaker"], sms_app.extensions["intake.jobs"], [raw]
        )

    assert (report.decided, report.failed) == (0, 0)
    assert count(db, Ticket) == 1
    assert len(fake_twilio.messages) == 1


@pytest.mark.parametrize("how", ["tampered", "wrong-url", "missing"])
def test_a_request_twilio_did_not_sign_is_refused_and_does_nothing(
    sms_client: FlaskClient, db: Session, how: str
) -> None:
    form = inbound_form("COMPLAINT forged")
    headers = {
        "tampered": {
            "X-Twilio-Signature": signature(f"{PUBLIC}/sms/inbound", {**form, "Body": "HELP"})
        },
        "wrong-url": {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/status", form)},
        "missing": {},
    }[how]

    answer = sms_client.post("/sms/inbound", data=form, headers=headers)

    assert answer.status_code == 403
    assert count(db, Ticket) == 0
    assert count(db, Message) == 0


def test_a_request_signed_over_the_public_url_is_accepted_behind_a_proxy(
    sms_app: Flask, sms_client: FlaskClient
) -> None:
    form = inbound_form("AIDE")
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/inbound", form)}

    # The proxy speaks plain HTTP to the app; Twilio signed the public https address.
    before = len(sms_client.application.extensions["test.fake_twilio"].messages)
    answer = sms_client.post(
        "/sms/inbound", data=form, headers=headers, base_url="http://localhost"
    )

    accepted(answer)
    (reply,) = replies_since(sms_client, before)
    in_language(sms_app, reply, "fr", HELP)


def test_a_flooding_number_gets_one_notice_then_silence(
    sms_app: Flask, sms_client: FlaskClient, db: Session
) -> None:
    limit = keyword_work.FLOOD.count
    answered = [text(sms_client, "HELP") for _message in range(limit)]

    notice = text(sms_client, "HELP")
    after = [text(sms_client, body) for body in ("HELP", "مساعدة", "COMPLAINT spam")]

    assert all(len(reply) == 1 for reply in answered)
    assert notice == [said(sms_app, "en", FLOOD)]
    assert after == [[], [], []]
    assert count(db, Ticket) == 0
    assert len(text(sms_client, "HELP", phone=RELATIVE)) == 1  # other numbers are served


def test_stop_is_kept_even_from_a_flooding_number(sms_client: FlaskClient, db: Session) -> None:
    for _message in range(keyword_work.FLOOD.count + 1):
        text(sms_client, "HELP")

    assert text(sms_client, "STOP") == []

    assert has_stopped(db, CITIZEN)


@pytest.mark.parametrize(("body", "language"), [("شكوى تأخر", "ar"), ("PLAINTE retard", "fr")])
def test_an_internal_failure_is_answered_with_an_apology_and_keeps_nothing(
    sms_app: Flask,
    sms_client: FlaskClient,
    db: Session,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    body: str,
    language: str,
) -> None:
    real_file_ticket = keyword_work.file_ticket

    def broken(*args: object, **kwargs: object) -> object:
        real_file_ticket(*args, **kwargs)  # type: ignore[arg-type]  # the ticket is written…
        raise RuntimeError(f"boom {CITIZEN} {body}")  # …then something fails

    monkeypatch.setattr(keyword_work, "file_ticket", broken)

    with caplog.at_level(logging.INFO):
        (reply,) = text(sms_client, body)

    in_language(sms_app, reply, language, APOLOGY)
    assert count(db, Ticket) == 0  # the half-done work was rolled back
    assert len(fake_twilio.messages) == 1  # the apology, and nothing else
    logged = db.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert logged.body == ""  # decided (as failed), so not read again and again
    assert "RuntimeError" in caplog.text
    assert "3123456" not in caplog.text and body not in caplog.text

    monkeypatch.setattr(keyword_work, "file_ticket", real_file_ticket)
    assert text(sms_client, body) == []  # the next message is decided normally
    assert count(db, Ticket) == 1


def test_one_failing_message_does_not_hold_up_the_others_of_its_batch(
    sms_app: Flask, db: Session, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_file_ticket = keyword_work.file_ticket

    def second_fails(*args: object, **kwargs: object) -> object:
        if kwargs["text"] == "number 1":  # a fault in this message, however often it is tried
            raise RuntimeError("boom")
        return real_file_ticket(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(keyword_work, "file_ticket", second_fails)
    raws = [
        RawSms(f"SMbatch{n}", CITIZEN, HOTLINE, f"COMPLAINT number {n}", utcnow()) for n in range(3)
    ]
    with sms_app.app_context():
        report = consumer.decide_batch(
            sms_app.extensions["intake.sessionmaker"], sms_app.extensions["intake.jobs"], raws
        )

    assert (report.decided, report.failed) == (2, 1)
    assert sorted(t.text for t in db.scalars(select(Ticket))) == ["number 0", "number 2"]
    assert len(fake_twilio.messages) == 3  # two ticket numbers and one apology


def test_a_failing_queue_after_the_commit_keeps_the_work_and_the_reply(
    sms_client: FlaskClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_dispatch(*args: object, **kwargs: object) -> None:
        raise RuntimeError("queue exploded")

    monkeypatch.setattr(consumer, "dispatch", broken_dispatch)

    assert text(sms_client, "COMPLAINT the list skipped us") == []

    assert count(db, Ticket) == 1  # the owed SMS waits in the outbox for the sweep


def test_the_log_says_what_happened_without_the_text_or_the_number(
    sms_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sms.keyword_work"):
        text(sms_client, "COMPLAINT my neighbour Hassan got two rations")

    assert "keyword=complaint" in caplog.text and "outcome=ticket" in caplog.text
    assert "Hassan" not in caplog.text
    assert "3123456" not in caplog.text


def test_the_message_log_keeps_what_was_received(sms_client: FlaskClient, db: Session) -> None:
    text(sms_client, "مساعدة", phone=AS_TYPED)

    logged = db.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert (logged.direction, logged.phone, logged.body, logged.language) == (
        Direction.INBOUND,
        CITIZEN,
        "مساعدة",
        "ar",
    )
