"""The citizen's correction link over HTTP: the application in plain words, up to five rows,
refusals beside their rows (nothing stored, the link still usable), a ticket and its SMS once."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.correction_links import issue_correction_link
from core.corrections import CorrectionRequest
from core.db import utcnow
from core.links import Link
from core.messages import Message, MessageStatus
from core.programme import set_window
from core.tickets import Ticket
from tests.support.factories import load_sample_geography
from tests.support.households import submitted


@pytest.fixture
def closed_round_application(db: Session) -> Application:
    """A family's application; the round has closed since (corrections come afterwards)."""
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    found = submitted(db, 1)
    set_window(db, utcnow() - timedelta(days=9), utcnow() - timedelta(days=1), "test")
    db.commit()
    return found


def link_for(db: Session, closed_round_application: Application, language: str = "ar") -> str:
    closed_round_application.language = language
    _link, token = issue_correction_link(db, closed_round_application)
    db.commit()
    return token


@pytest.fixture
def token(db: Session, closed_round_application: Application) -> str:
    return link_for(db, closed_round_application)


@pytest.fixture
def english(db: Session, closed_round_application: Application) -> str:
    """A link in English, whose messages read the same whatever the catalogs hold."""
    return link_for(db, closed_round_application, "en")


def rows(*changes: tuple[str, str, str]) -> dict[str, str]:
    form = {}
    for n, (field, value, reason) in enumerate(changes):
        form |= {f"field-{n}": field, f"value-{n}": value, f"reason-{n}": reason}
    return form


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def nothing_stored(db: Session) -> bool:
    link = db.scalars(select(Link).where(Link.channel == "correction")).one()
    return (
        count(db, CorrectionRequest) == count(db, Ticket) == 0
        and link.used_at is None
        and db.scalar(select(func.count()).where(Message.purpose == "correction_ticket")) == 0
    )


def page(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_the_page_lists_the_application_in_plain_arabic_words(
    app: Flask, token: str, closed_round_application: Application
) -> None:
    shown = app.test_client().get(f"/f/{token}")
    html = page(shown)
    assert shown.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert "123" in html and 'id="reference"' in html
    for words in ("اسم العائلة", "الخوري", "متأهل", "عامل مياوم", "عدد الغرف", "شياح"):
        assert words in html, words
    assert html.count('<select id="field-') == 1  # one list of the fields, not one per row
    assert '<option value="members-1-first_name">' in html
    assert 'name="personal"' not in html and "declaration" not in html


def test_rows_are_added_without_a_script_and_the_page_stays_small(
    app: Flask, db: Session, closed_round_application: Application
) -> None:
    """Eight members and five rows still fit a cheap phone's 30 KB."""
    pages = closed_round_application.pages()
    pages["family"]["members"] *= 4
    closed_round_application.data = json.dumps(pages)
    token = link_for(db, closed_round_application)
    citizen = app.test_client()
    assert len(citizen.get(f"/f/{token}").get_data()) <= 30 * 1024
    form: dict[str, str] = {}
    for n in range(4):
        form |= {f"field-{n}": f"members-{n}-first_name", f"value-{n}": "x", f"reason-{n}": "y"}
        more = citizen.post(f"/f/{token}", data=dict(form, action="add"))
        html = page(more)
        assert more.status_code == 200 and len(more.get_data()) <= 30 * 1024
        assert html.count('type="hidden" name="field-') == n + 1
        assert html.count("<select") == 1
    assert 'value="add"' not in html  # five rows: no sixth
    assert nothing_stored(db)


def test_the_page_is_in_the_links_language(
    app: Flask, db: Session, closed_round_application: Application
) -> None:
    token = link_for(db, closed_round_application, "fr")
    html = page(app.test_client().get(f"/f/{token}"))
    assert '<html lang="fr" dir="ltr">' in html
    assert "Nom de famille" in html and "Marié(e)" in html


def test_a_correction_link_never_opens_the_household_form(app: Flask, token: str) -> None:
    citizen = app.test_client()
    assert citizen.get(f"/f/{token}/personal").status_code == 404
    assert citizen.post(f"/f/{token}/finances", data={}).status_code == 404


@pytest.mark.parametrize(
    ("form", "words"),
    [
        (rows(("rooms", "99", "a bigger home")), "Enter a number from 1 to 20."),  # a form rule
        (rows(("rooms", "3", "")), "Say why this information is wrong."),
        (rows(("head_sex", "maybe", "typo")), "Type one of: Male / Female."),
        (rows(("no_such_field", "1", "x")), "Choose the information to correct from the list."),
        (rows(("rooms", "3", "a"), ("rooms", "4", "b")), "keep one row for it"),
        (rows(("address", "x" * 10_000, "moved")), "Use at most 200 characters."),
        (rows(("rooms", "3", "y" * 10_000)), "Use at most 300 characters."),
        (rows(("rooms", "2", "same")), "changes nothing"),
        ({}, "changes nothing"),
        (rows(*[("rooms", str(n), "again") for n in range(500)]), "at most 5 corrections at"),
    ],
    ids=[
        "rule",
        "no-reason",
        "choice",
        "unknown-field",
        "twice",
        "long-value",
        "long-reason",
        "same",
        "empty",
        "500-rows",
    ],
)
def test_a_refused_correction_says_why_keeps_what_was_typed_and_stores_nothing(
    app: Flask, db: Session, english: str, form: dict[str, str], words: str
) -> None:
    refused = app.test_client().post(f"/f/{english}", data=form)
    html = page(refused)
    assert refused.status_code == 400
    assert words in html
    if "value-0" in form:
        assert f'value="{form["value-0"][:201]}"' in html
    assert nothing_stored(db)
    assert app.test_client().get(f"/f/{english}").status_code == 200  # the link still works


def test_each_error_sits_beside_its_row(app: Flask, db: Session, token: str) -> None:
    form = rows(("rooms", "3", "bigger"), ("head_sex", "maybe", "typo"))
    html = page(app.test_client().post(f"/f/{token}", data=form))
    assert 'id="row-0-e"' not in html
    assert re.search(r'id="row-1-e"><p>[^<]*ذكر / أنثى', html), html
    assert 'type="hidden" name="field-0" value="rooms"' in html  # kept, as typed
    assert nothing_stored(db)


def test_an_error_on_a_field_not_in_the_rows_names_that_field(
    app: Flask, db: Session, closed_round_application: Application
) -> None:
    """Renting needs a rent: the citizen is told to correct it too."""
    pages = closed_round_application.pages()
    pages["housing"] |= {"housing_tenure": "owned", "monthly_rent": None}
    closed_round_application.data = json.dumps(pages)
    token = link_for(db, closed_round_application, "en")
    refused = app.test_client().post(f"/f/{token}", data=rows(("housing_tenure", "rented", "x")))
    assert refused.status_code == 400
    assert "also correct “Monthly rent (LBP)”: This field is required." in page(refused)
    assert nothing_stored(db)


def test_a_correction_lands_as_a_ticket_for_the_committee_with_an_sms(
    app: Flask, db: Session, token: str, closed_round_application: Application
) -> None:
    sent = app.test_client().post(
        f"/f/{token}",
        data=rows(
            ("rooms", "٣", "my son's room"),
            ("marital_status", "أرمل", "my husband died"),
            ("members-0-work", "Daily worker", "she found work"),
            ("housing_tenure", "Rented", "same as before"),
            ("members-1-in_school", "no", "he left school"),
        ),
    )
    html = page(sent)
    assert sent.status_code == 200, html
    correction = db.scalars(select(CorrectionRequest)).one()
    ticket = db.get(Ticket, correction.ticket_id)
    assert ticket is not None
    assert (correction.status, correction.source, correction.logged_by_id) == (
        "pending",
        "citizen",
        None,
    )
    assert (ticket.channel, ticket.category, ticket.application_id) == (
        "web",
        "correction",
        closed_round_application.id,
    )
    assert [(c["field"], c["new"]) for c in correction.change_list()] == [
        ("rooms", 3),
        ("marital_status", "widowed"),
        ("members-0-work", "daily_worker"),
        ("members-1-in_school", False),
    ]
    number = f"{ticket.number[:4]} {ticket.number[4:]}"
    assert f'id="ticket">{number}<' in html
    sms = db.scalars(select(Message).where(Message.purpose == "correction_ticket")).one()
    assert sms.phone == closed_round_application.phone and number in sms.body
    assert sms.status == MessageStatus.QUEUED  # owed, committed, then taken by the gateway


def test_a_used_link_shows_the_unavailable_page(app: Flask, db: Session, token: str) -> None:
    citizen = app.test_client()
    assert citizen.post(f"/f/{token}", data=rows(("rooms", "3", "bigger"))).status_code == 200
    again = citizen.post(f"/f/{token}", data=rows(("rooms", "4", "again")))
    assert again.status_code == 404 and "لا يمكن استخدام هذا الرابط" in page(again)
    assert citizen.get(f"/f/{token}").status_code == 404
    assert count(db, CorrectionRequest) == count(db, Ticket) == 1


def test_a_form_link_takes_no_correction(
    app: Flask, db: Session, closed_round_application: Application
) -> None:
    from core.link_lifecycle import issue_link
    from core.links import Channel

    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    _link, form_token = issue_link(db, None, "+96171123456", "ar", Channel.HOTLINE)
    db.commit()
    refused = app.test_client().post(f"/f/{form_token}", data=rows(("rooms", "3", "x")))
    assert refused.status_code == 404 and count(db, CorrectionRequest) == 0


def test_the_ticket_sms_fits_one_segment_in_every_language(
    app: Flask, db: Session, closed_round_application: Application
) -> None:
    from core.receipts import owe_correction_ticket
    from core.segments import segments
    from texts.sms import compose

    ticket = Ticket(number="12345678")
    with app.test_request_context():
        for language, encoding in (("ar", "UCS-2"), ("en", "GSM-7"), ("fr", "GSM-7")):
            owed = owe_correction_ticket(db, closed_round_application, ticket, language, compose)
            body = db.get_one(Message, owed).body
            assert segments(body) == (encoding, 1), (language, body)
            assert "1234 5678" in body
