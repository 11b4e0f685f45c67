"""The 1766 voice menu, walked as a caller would: signed webhooks in, TwiML out, SMS at the fake
Twilio. Each test follows the URLs the TwiML hands back, as Twilio does.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import ivr.voice
from assembly.app import create_app
from core.applications import Application
from core.callback_requests import CallbackRequest
from core.calls import Call, CallStatus
from core.link_lifecycle import issue_link
from core.links import Channel
from core.messages import Message
from core.references import check_digit, grouped
from core.tickets import MENU_CATEGORIES, Ticket
from core.webhook_replies import WebhookReply, earlier_reply
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.households import pages
from tests.support.ivr_caller import (
    CALLER,
    RECORDING,
    VOICES,
    Phone,
    action,
    record_action,
    redirect,
)
from tests.support.twilio_requests import HOTLINE, PUBLIC, signature, twilio_settings

OTHER_MOBILE = "+96171123456"
LANDLINE = "+9611123456"  # Beirut, 01 123 456: cannot receive an SMS
TOKEN_IN_SMS = re.compile(r"/f/([A-Za-z0-9_-]{20,})")
BEIRUT_10AM = datetime(2020, 4, 22, 7, 0, tzinfo=UTC)  # Beirut is UTC+3 in April
BEIRUT_8PM = datetime(2020, 4, 22, 17, 0, tzinfo=UTC)


# -- the caller's side ------------------------------------------------------------------------


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def said(twiml: ET.Element) -> str:
    return " ".join(say.text or "" for say in twiml.iter("Say"))


def voices(twiml: ET.Element) -> set[tuple[str | None, str | None]]:
    return {(say.get("voice"), say.get("language")) for say in twiml.iter("Say")}


def hangs_up(twiml: ET.Element) -> bool:
    return twiml.find("./Hangup") is not None


def with_check_digit(body: str) -> str:
    return body + check_digit(body)


def wrong_check_digit(reference: str) -> str:
    return reference[:-1] + str((int(reference[-1]) + 1) % 10)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def ivr_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
) -> Flask:
    settings = twilio_settings(engine, twilio_api_base_url=fake_twilio.url)
    flask_app = create_app(settings, session_factory=session_factory)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def ivr_client(ivr_app: Flask) -> FlaskClient:
    test_client = ivr_app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client


@pytest.fixture
def phone(ivr_client: FlaskClient) -> Phone:
    return Phone(ivr_client)


@pytest.fixture
def hotline_application(ivr_client: FlaskClient, db: Session, open_round: None) -> Application:
    """A family's form, submitted from a hotline link on CALLER's phone (03 123 456)."""
    _link, token = issue_link(db, None, CALLER, "ar", Channel.HOTLINE)
    db.commit()
    for page, values in pages(41).items():
        assert ivr_client.post(f"/f/{token}/{page}", data=values).status_code in (200, 302)
    db.expire_all()
    stored = db.scalars(select(Application)).one()
    assert stored.phone == CALLER
    return stored


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def sms_to(fake_twilio: FakeTwilio, number: str) -> list[str]:
    return [m["body"] for m in fake_twilio.messages if m["to"] == number]


# -- the language menu ------------------------------------------------------------------------


def test_the_call_opens_with_each_language_offered_in_its_own_voice(
    phone: Phone, db: Session
) -> None:
    twiml = phone.dial()

    says = list(twiml.iter("Say"))
    assert [(s.get("voice"), s.get("language")) for s in says] == list(VOICES.values())
    arabic, english, french = (say.text or "" for say in says)
    assert "العربية" in arabic and "Français" in french  # each language by its own name
    assert english == "Welcome to 1766. For English, press 2."
    assert "tapez 3" in french  # after the catalogs are merged
    assert "للغة العربية، اضغط 1" in arabic  # after the catalogs are merged
    gather = twiml.find("./Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert action(twiml) == f"{PUBLIC}/ivr/language?attempt=0"
    call = db.scalars(select(Call)).one()
    assert (call.phone, call.status) == (CALLER, CallStatus.IN_PROGRESS)


@pytest.mark.parametrize(
    ("key", "language", "words"),
    [
        ("1", "ar", "اضغط 1"),  # after the catalogs are merged
        ("2", "en", "by SMS, press 1"),
        ("3", "fr", "tapez 1"),  # after the catalogs are merged
        ("", "ar", "اضغط 1"),  # silence: Arabic (after the catalogs are merged)
    ],
    ids=["arabic", "english", "french", "silence-is-arabic"],
)
def test_the_main_menu_is_spoken_in_the_language_chosen(
    phone: Phone, db: Session, key: str, language: str, words: str
) -> None:
    phone.dial()
    twiml = phone.press(key)

    assert voices(twiml) == {VOICES[language]}
    assert query(action(twiml)) == {"lang": language, "attempt": "0"}
    assert words in said(twiml)
    assert db.scalars(select(Call.language)).one() == language


def test_a_wrong_key_repeats_the_language_menu_and_the_third_says_goodbye(phone: Phone) -> None:
    phone.dial()
    second = phone.press("7")
    assert query(action(second)) == {"attempt": "1"}
    assert len(list(second.iter("Say"))) == 3
    third = phone.press("#")
    assert query(action(third)) == {"attempt": "2"}

    last = phone.press("8")

    assert hangs_up(last) and last.find(".//Gather") is None
    assert voices(last) == set(VOICES.values())
    assert "Please call 1766 again. Goodbye." in said(last)


# -- the main menu: repeats, wrong keys, silence ---------------------------------------------


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_silence_and_wrong_keys_repeat_the_menu_twice_then_goodbye(
    phone: Phone, language: str
) -> None:
    phone.choose(language)

    silence = phone.press("")
    assert query(action(silence)) == {"lang": language, "attempt": "1"}
    wrong = phone.press("7")
    assert query(action(wrong)) == {"lang": language, "attempt": "2"}
    last = phone.press("")

    assert hangs_up(last) and last.find(".//Gather") is None
    assert voices(last) == {VOICES[language]}
    if language == "en":
        assert said(silence).startswith("We did not hear your choice. For a link")
        assert said(wrong).startswith("Sorry, that is not one of the choices. For a link")
        assert said(last).endswith("We could not get your choice. Please call 1766 again. Goodbye.")


def test_nine_repeats_the_menu_without_counting_a_failure(phone: Phone) -> None:
    phone.choose("en", "")  # one silence
    again = phone.press("9")

    assert said(again).startswith("For a link to the assistance form by SMS, press 1.")
    assert query(action(again)) == {"lang": "en", "attempt": "0"}


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
@pytest.mark.parametrize(
    ("key", "verb", "step", "extra"),
    [
        ("2", "Gather", "/ivr/status", {"numDigits": "10"}),
        ("3", "Gather", "/ivr/complaint", {"numDigits": "1"}),
        ("4", "Enqueue", "/ivr/hold", {}),
        ("0", "Enqueue", "/ivr/hold", {}),
        ("5", "Record", "/ivr/callback", {"maxLength": "10", "playBeep": "true"}),
        ("9", "Gather", "/ivr/menu", {"numDigits": "1"}),
    ],
    ids=["status", "complaint", "agent", "zero-agent", "callback", "repeat"],
)
def test_each_option_answers_in_the_callers_language(
    phone: Phone,
    clock: ModuleType,
    language: str,
    key: str,
    verb: str,
    step: str,
    extra: dict[str, str],
) -> None:
    clock.freeze(BEIRUT_10AM)
    twiml = phone.choose(language, key)

    element = twiml.find(f".//{verb}")
    assert element is not None
    url = element.get("waitUrl") or element.get("action") or ""
    assert urlsplit(url).path == step and query(url)["lang"] == language
    assert {name: element.get(name) for name in extra} == extra
    assert voices(twiml) == {VOICES[language]}


# -- 1: a form link -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_a_mobile_caller_gets_the_form_link_by_sms_at_once(
    phone: Phone, ivr_client: FlaskClient, fake_twilio: FakeTwilio, open_round: None, language: str
) -> None:
    twiml = phone.choose(language, "1")

    assert hangs_up(twiml)
    assert voices(twiml) == {VOICES[language]}
    if language == "en":
        assert said(twiml) == (
            "The link to the form has been sent by SMS. Please fill the form only once for "
            "your whole family. Thank you for calling 1766. Goodbye."
        )
    [body] = sms_to(fake_twilio, CALLER)
    token = TOKEN_IN_SMS.search(body)
    assert token and ivr_client.get(f"/f/{token.group(1)}").status_code == 200


def test_a_landline_caller_keys_in_a_mobile_hears_it_back_and_confirms(
    ivr_client: FlaskClient, fake_twilio: FakeTwilio, open_round: None
) -> None:
    phone = Phone(ivr_client, number=LANDLINE)
    asked = phone.choose("en", "1")
    assert said(asked) == (
        "This number cannot receive our SMS. Please key in the 8 digits of a Lebanese mobile "
        "number."
    )
    gather = asked.find("./Gather")
    assert gather is not None and (gather.get("numDigits"), gather.get("finishOnKey")) == ("8", "#")

    landline = phone.press("01123456")
    assert said(landline).startswith("That is not a Lebanese mobile number. Please key in")
    read_back = phone.press("71123456")
    assert said(read_back) == (
        "You entered 7 1 1 2 3 4 5 6. To confirm, press 1. To enter it again, press 2."
    )
    again = phone.press("2")
    assert said(again) == "Please key in the 8 digits of a Lebanese mobile number."
    phone.press("03123456")
    assert said(phone.last).startswith("You entered 0 3 1 2 3 4 5 6.")
    assert query(action(phone.last))["to"] == "9613123456"  # ASCII digits, no "+"

    done = phone.press("1")

    assert hangs_up(done) and said(done).startswith("The link to the form has been sent by SMS.")
    assert [m["to"] for m in fake_twilio.messages] == [CALLER]
    assert sms_to(fake_twilio, LANDLINE) == [] and sms_to(fake_twilio, OTHER_MOBILE) == []


def test_a_wrong_key_at_the_read_back_repeats_it_then_goodbye(
    ivr_client: FlaskClient, fake_twilio: FakeTwilio, open_round: None
) -> None:
    phone = Phone(ivr_client, number=LANDLINE)
    phone.choose("en", "1", "03123456")

    repeated = phone.press("5")
    assert "You entered 0 3 1 2 3 4 5 6." in said(repeated)
    assert query(action(repeated))["attempt"] == "1"
    phone.press("")
    last = phone.press("")

    assert hangs_up(last) and fake_twilio.messages == []


def test_outside_the_window_the_link_is_refused_and_the_menu_returns(
    phone: Phone, fake_twilio: FakeTwilio
) -> None:
    refused = phone.choose("en", "1")

    assert said(refused).startswith("Forms are not being accepted at the moment.")
    assert redirect(refused) == f"{PUBLIC}/ivr/main?lang=en"
    menu = phone.hear(redirect(refused))
    assert said(menu).startswith("For a link to the assistance form by SMS")
    assert fake_twilio.messages == []


def test_the_fourth_link_of_the_day_is_refused(
    ivr_client: FlaskClient, fake_twilio: FakeTwilio, open_round: None
) -> None:
    for n in range(3):
        sent = Phone(ivr_client, sid=f"CA{n:032d}").choose("en", "1")
        assert said(sent).startswith("The link to the form has been sent")

    refused = Phone(ivr_client, sid="CA" + "9" * 32).choose("en", "1")

    assert said(refused).startswith("This number has already received its form links for today.")
    assert redirect(refused) == f"{PUBLIC}/ivr/main?lang=en"
    assert len(sms_to(fake_twilio, CALLER)) == 3


# -- 2: application status --------------------------------------------------------------------


def test_the_applications_own_phone_hears_the_status_digit_by_digit(
    phone: Phone, fake_twilio: FakeTwilio, hotline_application: Application
) -> None:
    before = len(fake_twilio.messages)  # the receipt of the submission
    asked = phone.choose("en", "2")
    assert said(asked) == "Please key in the 10 digits of your application reference."

    twiml = phone.press(hotline_application.reference)

    spaced = " ".join(hotline_application.reference)
    assert said(twiml) == (
        f"Application {spaced}: received, being assessed. Thank you for calling 1766. Goodbye."
    )
    assert hangs_up(twiml) and len(fake_twilio.messages) == before


def test_another_caller_hears_that_the_status_went_by_sms_to_the_applications_phone(
    ivr_client: FlaskClient, fake_twilio: FakeTwilio, hotline_application: Application
) -> None:
    phone = Phone(ivr_client, number=OTHER_MOBILE)
    before = len(sms_to(fake_twilio, CALLER))  # the submission's receipt
    phone.choose("en", "2")

    twiml = phone.press(hotline_application.reference)

    assert said(twiml).startswith(
        "For your privacy, the status has been sent by SMS to the phone number on the application."
    )
    assert hotline_application.reference not in said(twiml)
    [status] = sms_to(fake_twilio, CALLER)[before:]
    assert grouped(hotline_application.reference) in status
    assert sms_to(fake_twilio, OTHER_MOBILE) == []


def test_a_wrong_check_digit_is_caught_and_asked_again(
    phone: Phone, hotline_application: Application
) -> None:
    phone.choose("en", "2")

    twiml = phone.press(wrong_check_digit(hotline_application.reference))

    assert said(twiml) == (
        "That reference is not valid. Please check it. "
        "Please key in the 10 digits of your application reference."
    )
    assert query(action(twiml)) == {"lang": "en", "attempt": "1"}
    assert said(phone.press(hotline_application.reference)).startswith(
        f"Application {' '.join(hotline_application.reference)}"
    )


def test_an_unknown_reference_is_said_and_the_caller_may_try_again(
    phone: Phone, hotline_application: Application
) -> None:
    unknown = with_check_digit("987654321")
    assert unknown != hotline_application.reference
    phone.choose("fr", "2")

    twiml = phone.press(unknown)

    assert " ".join(unknown) in said(twiml)
    assert query(action(twiml)) == {"lang": "fr", "attempt": "1"}
    assert voices(twiml) == {VOICES["fr"]}


def test_three_wrong_references_end_the_call(phone: Phone, fake_twilio: FakeTwilio) -> None:
    phone.choose("en", "2", with_check_digit("123456789"), "")

    last = phone.press("12345")

    assert hangs_up(last) and "Please call 1766 again. Goodbye." in said(last)
    assert fake_twilio.messages == []


def test_a_retried_status_webhook_sends_one_sms_and_answers_the_same(
    ivr_client: FlaskClient, fake_twilio: FakeTwilio, hotline_application: Application, db: Session
) -> None:
    phone = Phone(ivr_client, number=OTHER_MOBILE)
    phone.choose("en", "2")
    url = action(phone.last)
    before = len(fake_twilio.messages)

    first = phone.post(url, hotline_application.reference)
    second = phone.post(url, hotline_application.reference)

    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    assert len(fake_twilio.messages) == before + 1


# -- 3: complaint or correction ---------------------------------------------------------------


@pytest.mark.parametrize("digit", ["1", "2", "3", "4", "5"])
def test_a_recorded_complaint_becomes_a_ticket_said_and_sent_by_sms(
    phone: Phone, fake_twilio: FakeTwilio, db: Session, digit: str
) -> None:
    menu = phone.choose("en", "3")
    assert "To correct the data of your application, press 2." in said(menu)
    record_step = phone.press(digit)
    record = record_step.find("./Record")
    assert record is not None
    assert (record.get("maxLength"), record.get("playBeep")) == ("120", "true")
    category = MENU_CATEGORIES[int(digit) - 1]
    assert query(record.get("action", ""))["category"] == category.value

    done = phone.record()

    ticket = db.scalars(select(Ticket)).one()
    assert (ticket.category, ticket.channel, ticket.phone) == (category, "ivr", CALLER)
    assert ticket.recording_url == RECORDING and ticket.language == "en"
    assert said(done).startswith(
        f"Your complaint is registered under number {' '.join(ticket.number)}."
    )
    assert hangs_up(done)
    [body] = sms_to(fake_twilio, CALLER)
    assert f"{ticket.number[:4]} {ticket.number[4:]}" in body


def test_a_landline_caller_hears_the_ticket_number_and_no_sms_is_tried(
    phone: Phone, fake_twilio: FakeTwilio, db: Session
) -> None:
    phone.number = "+9611234567"  # a Beirut landline: Twilio would refuse an SMS to it
    phone.choose("en", "3")
    phone.press("1")
    done = phone.record()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.phone == "+9611234567"
    assert f"registered under number {' '.join(ticket.number)}" in said(done)
    assert fake_twilio.messages == []
    assert count(db, Message) == 0


def test_a_wrong_category_key_repeats_the_categories(phone: Phone) -> None:
    phone.choose("en", "3")

    twiml = phone.press("8")

    assert said(twiml).startswith("Sorry, that is not one of the choices. If you applied")
    assert urlsplit(action(twiml)).path == "/ivr/complaint"
    assert query(action(twiml))["attempt"] == "1"


def test_an_empty_recording_is_asked_for_again_and_stores_nothing(
    phone: Phone, db: Session, fake_twilio: FakeTwilio
) -> None:
    phone.choose("ar", "3", "5")

    twiml = phone.record(None)

    record = twiml.find("./Record")
    assert record is not None and query(record.get("action", ""))["attempt"] == "1"
    assert voices(twiml) == {VOICES["ar"]}
    assert count(db, Ticket) == 0 and fake_twilio.messages == []


def test_a_retried_ticket_webhook_makes_one_ticket_one_sms_and_the_same_twiml(
    phone: Phone, db: Session, fake_twilio: FakeTwilio
) -> None:
    phone.choose("en", "3", "1")
    url = record_action(phone.last)

    first = phone.post(url, RecordingUrl=RECORDING)
    retried = phone.post(url, RecordingUrl=RECORDING)

    assert first.status_code == retried.status_code == 200
    assert first.data == retried.data
    assert count(db, Ticket) == 1 and len(fake_twilio.messages) == 1


def test_a_retry_racing_the_first_request_gets_the_reply_it_stored(
    phone: Phone, db: Session, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry looked before the first committed; its insert of the reply key then fails."""
    phone.choose("en", "3", "2")
    url = record_action(phone.last)
    first = phone.post(url, RecordingUrl=RECORDING)
    looked = []

    def blind_at_first(session: Session, key: str) -> str | None:
        looked.append(key)
        return None if len(looked) == 1 else earlier_reply(session, key)

    monkeypatch.setattr(ivr.voice, "earlier_reply", blind_at_first)

    raced = phone.post(url, RecordingUrl=RECORDING)

    assert raced.status_code == 200 and raced.data == first.data
    assert len(looked) == 2  # blind before the work, then read after the failed insert
    assert count(db, Ticket) == 1 and len(fake_twilio.messages) == 1


# -- 4 and 0: an agent ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["4", "0"])
@pytest.mark.parametrize(
    "moment",
    [BEIRUT_10AM, datetime(2020, 4, 22, 5, 0, tzinfo=UTC)],  # 10:00, and 08:00 sharp
    ids=["10:00", "08:00"],
)
def test_in_the_rooms_hours_the_caller_waits_for_an_agent(
    phone: Phone, clock: ModuleType, db: Session, key: str, moment: datetime
) -> None:
    clock.freeze(moment)

    twiml = phone.choose("en", key)

    enqueue = twiml.find("./Enqueue")
    assert enqueue is not None and enqueue.text == "complaint-room"
    assert enqueue.get("waitUrl") == f"{PUBLIC}/ivr/hold?lang=en"
    assert said(twiml) == "Please hold. An agent of the complaint room will answer you."
    call = db.scalars(select(Call)).one()
    assert (call.status, call.language) == (CallStatus.QUEUED, "en")
    assert call.queued_at is not None


@pytest.mark.parametrize(
    "moment",
    [
        BEIRUT_8PM,
        datetime(2020, 4, 22, 14, 0, tzinfo=UTC),
        datetime(2020, 4, 22, 4, 59, tzinfo=UTC),
    ],
    ids=["20:00", "17:00", "07:59"],
)
def test_outside_the_rooms_hours_the_caller_is_offered_a_recorded_complaint(
    phone: Phone, clock: ModuleType, moment: datetime
) -> None:
    clock.freeze(moment)

    closed = phone.choose("en", "4")

    assert closed.find(".//Enqueue") is None
    assert said(closed) == (
        "The complaint room is closed now. It answers from 08:00 to 17:00, Beirut time. "
        "To record a complaint instead, press 3. To hear the menu again, press 9."
    )
    categories = phone.press("3")
    assert said(categories).startswith("If you applied and heard nothing, press 1.")


def test_the_hold_music_is_a_message_and_the_place_in_the_queue(phone: Phone) -> None:
    twiml = phone.hear("/ivr/hold?lang=fr", QueuePosition="3", QueueSid="QU" + "0" * 32)

    assert voices(twiml) == {VOICES["fr"]}
    assert "3" in said(twiml)
    pause = twiml.find("./Pause")
    assert pause is not None and int(pause.get("length", "0")) > 0


# -- 5: a call back ---------------------------------------------------------------------------


def test_a_caller_without_a_smartphone_records_the_town_and_is_called_back(
    phone: Phone, db: Session
) -> None:
    asked = phone.choose("en", "5")
    assert said(asked) == "After the beep, please say the name of your town."

    done = phone.record()

    request = db.scalars(select(CallbackRequest)).one()
    assert (request.phone, request.language, request.town_recording_url) == (
        CALLER,
        "en",
        RECORDING,
    )
    assert said(done) == (
        "Thank you. A volunteer will call you back to fill the form with you. "
        "Thank you for calling 1766. Goodbye."
    )
    assert hangs_up(done)


def test_a_silent_town_still_asks_for_the_call_back_once(phone: Phone, db: Session) -> None:
    phone.choose("ar", "5")
    fallback = redirect(phone.last)

    first = phone.post(fallback)
    retried = phone.post(fallback)

    assert first.data == retried.data
    request = db.scalars(select(CallbackRequest)).one()
    assert request.town_recording_url is None


# -- the webhook's guarantees -----------------------------------------------------------------

PATHS = [
    "/ivr/voice",
    "/ivr/language?attempt=0",
    "/ivr/main?lang=ar",
    "/ivr/menu?attempt=0&lang=ar",
    "/ivr/link/number?attempt=0&lang=ar",
    "/ivr/link/confirm?attempt=0&lang=ar&to=9613123456",
    "/ivr/status?attempt=0&lang=ar",
    "/ivr/complaint?attempt=0&lang=ar",
    "/ivr/complaint/record?attempt=0&category=other&lang=ar",
    "/ivr/callback?lang=ar",
    "/ivr/hold?lang=ar",
    "/ivr/call-status",
]


@pytest.mark.parametrize("how", ["unsigned", "tampered", "another-url"])
@pytest.mark.parametrize("path", PATHS)
def test_a_request_twilio_did_not_sign_is_refused(
    ivr_client: FlaskClient, db: Session, path: str, how: str
) -> None:
    form = {"CallSid": "CA" + "2" * 32, "From": CALLER, "To": HOTLINE, "Digits": "1"}
    form["RecordingUrl"] = RECORDING
    headers = {}
    if how == "tampered":
        headers["X-Twilio-Signature"] = signature(PUBLIC + path, {**form, "From": OTHER_MOBILE})
    elif how == "another-url":
        headers["X-Twilio-Signature"] = signature(PUBLIC + "/ivr/hold?lang=en", form)

    response = ivr_client.post(path, data=form, headers=headers)

    assert response.status_code == 403
    assert count(db, Ticket) == 0 and count(db, CallbackRequest) == 0 and count(db, Call) == 0


def test_the_end_of_a_call_is_logged_with_its_length_and_outcome(
    phone: Phone, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    phone.choose("en", "9")
    caplog.set_level(logging.INFO, logger="ivr.voice")
    ended = phone.post("/ivr/call-status", CallStatus="completed", CallDuration="42")
    again = phone.post("/ivr/call-status", CallStatus="completed", CallDuration="43")

    assert (ended.status_code, again.status_code) == (204, 204)
    call = db.scalars(select(Call)).one()
    assert (call.status, call.duration_seconds) == (CallStatus.COMPLETED, 42)
    assert call.ended_at is not None
    assert "ended: completed after 42 s" in caplog.text
    assert CALLER[-6:] not in caplog.text


def test_a_caller_who_hangs_up_in_the_queue_abandoned_it(
    phone: Phone, clock: ModuleType, db: Session
) -> None:
    clock.freeze(BEIRUT_10AM)
    phone.choose("en", "4")
    phone.post("/ivr/call-status", CallStatus="completed", CallDuration="95")
    call = db.scalars(select(Call)).one()
    assert (call.status, call.duration_seconds) == (CallStatus.ABANDONED, 95)


def test_a_failure_inside_still_answers_twiml_apologises_and_keeps_nothing(
    phone: Phone,
    db: Session,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone.choose("en", "3", "1")
    url = record_action(phone.last)

    def broken_sms(*args: object, **kwargs: object) -> int:
        raise RuntimeError(f"gateway refused {CALLER}")

    monkeypatch.setattr("core.citizen_requests.owe_text", broken_sms)
    with caplog.at_level(logging.INFO, logger="ivr.voice"):
        twiml = phone.hear(url, RecordingUrl=RECORDING)

    assert said(twiml) == "Sorry, something went wrong on our side. Please call 1766 again later."
    assert hangs_up(twiml)
    assert count(db, Ticket) == 0 and count(db, WebhookReply) == 0
    assert fake_twilio.messages == []
    assert "RuntimeError" in caplog.text and CALLER not in caplog.text


def test_each_step_is_logged_with_a_masked_caller_and_no_numbers(
    ivr_client: FlaskClient, hotline_application: Application, caplog: pytest.LogCaptureFixture
) -> None:
    phone = Phone(ivr_client, number=OTHER_MOBILE)
    with caplog.at_level(logging.INFO, logger="ivr.voice"):
        phone.choose("en", "2", hotline_application.reference)

    lines = [r.getMessage() for r in caplog.records if r.name == "ivr.voice"]
    assert [step_of(line) for line in lines] == ["voice", "language", "menu", "status"]
    assert lines[-1].endswith("outcome=status-sms")
    assert all("+9617•••456" in line for line in lines)
    assert OTHER_MOBILE not in caplog.text and hotline_application.reference not in caplog.text


def step_of(line: str) -> str:
    found = re.search(r"step=(\S+)", line)
    assert found, line
    return found.group(1)
