"""`/status`: a family types its reference, receives a code by SMS (the fake Twilio), types it
and reads its status; strangers learn nothing, codes expire, work once and three a day, and
guessers are throttled. On SQLite and PostgreSQL (the `sms_client` fixture does both)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationStatus
from core.audit import AuditEvent
from core.digits import ARABIC_INDIC, PERSIAN
from core.messages import Message
from core.references import check_digit, grouped, new_reference
from core.status_codes import (
    ASKS_PER_ADDRESS,
    MISSES_PER_REFERENCE,
    PER_DAY,
    StatusCode,
)
from distribution.handovers import Voucher, issue_vouchers, record_handover
from tests.plugins.fake_twilio import FakeTwilio
from tests.plugins.handover_world import World, build_world
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import HOME
from tests.support.status_page import ask_code, codes_texted, last_code, open_status

# A quiet Tuesday morning in Beirut (UTC+2 in December), far from midnight.
MORNING = datetime(2027, 3, 9, 8, 0, tzinfo=UTC)


def in_script(digits: str, script: str) -> str:
    return "".join(script[int(d)] for d in digits)


def unknown_reference(db: Session) -> str:
    """A well-formed reference (right check digit) that no application has."""
    while True:
        reference = new_reference()
        if db.scalar(select(Application.id).where(Application.reference == reference)) is None:
            return reference


@pytest.fixture
def status_world(db: Session) -> World:
    """The distribution round, the first family of HOME with its voucher issued."""
    world = build_world(db)
    issue_vouchers(db, world.published, HOME, SERVICE_KEY, "army")
    db.commit()
    return world


def family_code(client: FlaskClient, fake: FakeTwilio, application: Application) -> str:
    assert ask_code(client, application.reference).status_code == 200
    return last_code(fake, application.phone)


# --- the family's way through -----------------------------------------------------------------


def test_a_family_sees_its_status_and_voucher_with_the_code_it_was_texted(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, db: Session, status_world: World
) -> None:
    family = status_world.home[0]
    voucher = db.scalars(select(Voucher).where(Voucher.application_id == family.id)).one()
    spaced = f"{family.reference[:3]} - {family.reference[3:6]}  {family.reference[6:]}"

    asked = ask_code(sms_client, spaced)
    assert asked.status_code == 200
    assert "a code is on its way by SMS" in asked.text
    code = last_code(fake_twilio, family.phone)

    shown = open_status(sms_client, family.reference, in_script(code, ARABIC_INDIC))
    assert shown.status_code == 200, shown.text
    page = shown.text
    assert grouped(voucher.code) in page
    assert '<div class="qr" id="voucher-qr"><svg' in page and "<path" in page
    assert "Selected: your family is on the assistance list." in page
    assert "Received on" in page and "call 1766" in page
    assert len(shown.data) < 30 * 1024  # a cheap phone on 3G

    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "status.viewed")))
    assert [(e.object_type, e.object_id) for e in events] == [("application", str(family.id))]
    assert family.reference not in (events[0].details or "") and code not in events[0].details


def test_the_page_prints_with_the_reference_its_check_digit_and_the_date(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World, clock: ModuleType
) -> None:
    clock.freeze(MORNING)
    family = status_world.home[0]
    page = open_status(sms_client, family.reference, family_code(sms_client, fake_twilio, family))
    assert f'<bdi dir="ltr" id="reference">{grouped(family.reference)}</bdi>' in page.text
    digit = check_digit(family.reference[:-1])
    assert f'<bdi dir="ltr" id="check-digit">{digit}</bdi>' in page.text
    assert '<span id="shown-on">March 9, 2027</span>' in page.text
    assert "@media print" in page.text and "size:A4" in page.text


def test_a_family_not_selected_reads_why_and_a_handed_over_voucher_its_date(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, db: Session, status_world: World
) -> None:
    left_out = status_world.left_out[0]  # not selected: the budget did not reach it
    page = open_status(
        sms_client, left_out.reference, family_code(sms_client, fake_twilio, left_out)
    ).text
    assert "Not selected: families in greater need in your area took the places" in page
    assert 'id="voucher"' not in page

    family = status_world.home[1]
    voucher = db.scalars(select(Voucher).where(Voucher.application_id == family.id)).one()
    record_handover(db, voucher, status_world.army, id_seen=True, signature_obtained=True)
    db.commit()
    page = open_status(sms_client, family.reference, family_code(sms_client, fake_twilio, family))
    assert 'data-step="handed-over"' in page.text and "The aid was handed over on" in page.text


def test_an_ineligible_family_reads_the_rule_that_excludes_it(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, db: Session, status_world: World
) -> None:
    family = status_world.home[2]
    family.status, family.reason = ApplicationStatus.INELIGIBLE, "public_sector_head"
    db.commit()
    page = open_status(sms_client, family.reference, family_code(sms_client, fake_twilio, family))
    assert "The head of household works in the public sector" in page.text


def test_arabic_first_then_english_and_french(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World
) -> None:
    arabic = sms_client.get("/status")
    assert 'lang="ar" dir="rtl"' in arabic.text and "حالة طلبك" in arabic.text
    assert "L'état de votre demande" in sms_client.get("/status?lang=fr").text
    family = status_world.home[0]
    asked = ask_code(sms_client, family.reference, lang="fr")
    assert "un code est envoyé par SMS" in asked.text
    # The SMS is in the family's own language (its form's), whatever the page's.
    assert "رمز الاطلاع على حالة طلبك" in fake_twilio.messages[-1]["body"]


# --- strangers learn nothing --------------------------------------------------------------------


def test_an_unknown_reference_is_answered_exactly_as_a_known_one(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, db: Session, status_world: World
) -> None:
    family, stranger = status_world.home[0], unknown_reference(db)
    before = len(fake_twilio.messages)

    def same(reference: str, **form: str) -> tuple[int, str]:
        answer = sms_client.post("/status", data={"reference": reference, "lang": "en", **form})
        return answer.status_code, answer.text.replace(grouped(reference), "REF").replace(
            reference, "REF"
        )

    assert same(family.reference) == same(stranger)
    assert len(fake_twilio.messages) == before + 1  # only the family's phone got a code
    assert same(family.reference, code="123456") == same(stranger, code="123456")
    for _ in range(PER_DAY):  # the family's codes for today used up: still the same answer
        same(family.reference)
    assert same(family.reference) == same(stranger)


# --- the codes' rules -----------------------------------------------------------------------------


def test_a_code_works_once(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World
) -> None:
    family = status_world.home[0]
    code = family_code(sms_client, fake_twilio, family)
    assert open_status(sms_client, family.reference, code).status_code == 200
    again = open_status(sms_client, family.reference, code)
    assert again.status_code == 400 and "already used" in again.text


def test_a_code_expires_after_ten_minutes(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World, clock: ModuleType
) -> None:
    clock.freeze(MORNING)
    family = status_world.home[0]
    code = family_code(sms_client, fake_twilio, family)
    clock.advance(timedelta(minutes=10))
    late = open_status(sms_client, family.reference, code)
    assert late.status_code == 400 and "older than 10 minutes" in late.text

    fresh = family_code(sms_client, fake_twilio, family)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert open_status(sms_client, family.reference, fresh).status_code == 200


def test_a_new_code_makes_the_previous_one_unusable(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World
) -> None:
    family = status_world.home[0]
    first = family_code(sms_client, fake_twilio, family)
    second = family_code(sms_client, fake_twilio, family)
    if first != second:
        assert open_status(sms_client, family.reference, first).status_code == 400
    assert open_status(sms_client, family.reference, second).status_code == 200


def test_three_codes_a_beirut_day_per_application(
    sms_client: FlaskClient,
    fake_twilio: FakeTwilio,
    db: Session,
    status_world: World,
    clock: ModuleType,
) -> None:
    clock.freeze(datetime(2027, 3, 9, 21, 0, tzinfo=UTC))  # 23:00 in Beirut
    family = status_world.home[0]
    for _ in range(PER_DAY + 2):
        assert ask_code(sms_client, family.reference).status_code == 200
    assert len(codes_texted(fake_twilio, family.phone)) == PER_DAY
    assert db.scalar(select(StatusCode.id).limit(1)) is not None
    clock.advance(timedelta(hours=1, minutes=1))  # past midnight in Beirut: a new day
    ask_code(sms_client, family.reference)
    assert len(codes_texted(fake_twilio, family.phone)) == PER_DAY + 1


def test_the_code_is_kept_only_as_a_keyed_hash_and_leaves_the_message_log(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, db: Session, status_world: World
) -> None:
    family = status_world.home[0]
    code = family_code(sms_client, fake_twilio, family)
    db.expire_all()
    stored = db.scalars(select(StatusCode)).one()
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    message = db.scalars(select(Message).where(Message.purpose == "status_code")).one()
    assert code not in message.body and "[redacted]" in message.body


# --- throttling -----------------------------------------------------------------------------------


def test_wrong_codes_for_a_reference_are_throttled_even_the_right_one_then(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World
) -> None:
    family = status_world.home[0]
    code = family_code(sms_client, fake_twilio, family)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(MISSES_PER_REFERENCE.count):
        assert open_status(sms_client, family.reference, wrong).status_code == 400
    refused = open_status(sms_client, family.reference, code)
    assert refused.status_code == 429 and "Too many attempts" in refused.text


def test_one_address_asking_for_many_references_is_throttled(
    sms_client: FlaskClient, db: Session, status_world: World
) -> None:
    references = [unknown_reference(db) for _ in range(ASKS_PER_ADDRESS.count)]
    for reference in references:
        assert ask_code(sms_client, reference).status_code == 200
    assert ask_code(sms_client, status_world.home[0].reference).status_code == 429
    # Another address (behind no proxy here, so another REMOTE_ADDR) is not held back.
    other = sms_client.post(
        "/status",
        data={"reference": status_world.home[0].reference},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 200


# --- bad input ---------------------------------------------------------------------------------


BAD_REFERENCES = [
    ("", "Type the 10 digits"),
    ("   ", "Type the 10 digits"),
    ("hello", "This is not an application reference"),
    ("\U0001f600" * 10, "This is not an application reference"),
    ("\u202e\u200f" + "1" * 10, "This is not an application reference"),
    ("1" * 5000, "This is not an application reference"),
    ("12345", "This is not an application reference"),
    ("<script>alert(1)</script>", "This is not an application reference"),
]


@pytest.mark.parametrize(("typed", "said"), BAD_REFERENCES)
def test_a_bad_reference_gets_a_clear_message(
    sms_client: FlaskClient, db: Session, typed: str, said: str
) -> None:
    answer = ask_code(sms_client, typed)
    assert answer.status_code == 400 and said in answer.text
    assert "<script>alert" not in answer.text
    with_code = open_status(sms_client, typed, "123456")
    assert with_code.status_code == 400 and said in with_code.text


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "1234567", "abcdef", "\U0001f600" * 6, "9" * 5000, "\u202e12\u200f3456x"],
)
def test_a_malformed_code_gets_a_clear_message(
    sms_client: FlaskClient, status_world: World, typed: str
) -> None:
    answer = open_status(sms_client, status_world.home[0].reference, typed)
    assert answer.status_code == 400 and "The code has 6 digits" in answer.text


def test_references_and_codes_in_any_digits_with_marks(
    sms_client: FlaskClient, fake_twilio: FakeTwilio, status_world: World
) -> None:
    family = status_world.home[0]
    typed = "\u200f" + in_script(family.reference, PERSIAN)
    assert ask_code(sms_client, typed).status_code == 200
    code = last_code(fake_twilio, family.phone)
    spaced = f"\u202a{code[:3]} {in_script(code[3:], ARABIC_INDIC)}\u202c"
    assert (
        open_status(sms_client, in_script(family.reference, ARABIC_INDIC), spaced).status_code
        == 200
    )


@pytest.mark.parametrize("lang", ["ar", "en", "fr"])
def test_a_post_without_fields_is_answered_in_the_pages_language(
    sms_client: FlaskClient, lang: str
) -> None:
    said = {
        "ar": "اكتب الأرقام العشرة",
        "en": "Type the 10 digits",
        "fr": "Saisissez les 10 chiffres",
    }
    answer = sms_client.post(f"/status?lang={lang}")
    assert answer.status_code == 400 and said[lang] in answer.text
    assert sms_client.post("/status", data={"lang": lang}).status_code == 400


def test_a_tampered_reference_beside_a_code_is_refused_cleanly(
    sms_client: FlaskClient, status_world: World
) -> None:
    answer = sms_client.post("/status", data={"reference": ["1", "2"], "code": ["1", "2"]})
    assert answer.status_code == 400
    assert re.search(r'id="problem"', answer.text)
