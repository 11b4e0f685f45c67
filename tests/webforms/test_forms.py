"""Links and the household form over HTTP: one-time links, the four pages, the circular's rules,
the receipt, and the acknowledgement owed exactly once (console SMS, inline jobs)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import references
from core.applications import Application, ApplicationStatus
from core.db import utcnow
from core.links import Link
from core.messages import Message, MessageStatus
from core.programme import set_window
from core.roles import Role
from core.users import StaffUser
from tests.plugins.citizen_forms import fill, newest_token, send_link
from tests.support.factories import HOME, PASSWORD, make_user
from tests.support.households import pages
from tests.support.staff_web import csrf, sign_in


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_a_link_is_sent_and_the_form_submitted_once(
    app: Flask, citizen_link: str, db: Session
) -> None:
    citizen = app.test_client()
    first = citizen.get(f"/f/{citizen_link}")
    assert first.status_code == 200
    assert '<html lang="ar" dir="rtl">' in first.get_data(as_text=True)
    done = fill(citizen, f"/f/{citizen_link}", pages(1))
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "تم ارسال بيانك" in page
    shown = re.search(r'id="reference">([\d ]+)<', page)
    assert shown and references.is_valid(shown.group(1))
    application = db.scalars(select(Application)).one()
    assert references.grouped(application.reference) == shown.group(1)
    assert application.status == ApplicationStatus.RECEIVED
    assert application.phone == "+9613123456" and application.locality_code == HOME
    receipts = db.scalars(select(Message).where(Message.purpose == "receipt")).all()
    assert len(receipts) == 1 and shown.group(1) in receipts[0].body
    assert receipts[0].status == MessageStatus.QUEUED  # the console gateway took it, inline
    again = citizen.get(f"/f/{citizen_link}")
    assert again.status_code == 404 and "لا يمكن استخدام هذا الرابط" in again.get_data(as_text=True)


def test_closing_the_browser_resumes_where_the_citizen_left_off(
    app: Flask, citizen_link: str
) -> None:
    first_visit = app.test_client()
    first_visit.get(f"/f/{citizen_link}")
    fill(first_visit, f"/f/{citizen_link}", pages(2), upto="family")
    later = app.test_client()  # another browser session: no cookie, only the link
    resumed = later.get(f"/f/{citizen_link}")
    html = resumed.get_data(as_text=True)
    assert 'name="residence_locality"' in html  # page 3, housing
    back = later.get(f"/f/{citizen_link}/personal").get_data(as_text=True)
    assert 'value="الخوري"' in back  # what was saved is shown again


def test_a_page_with_errors_says_which_field_and_saves_nothing(
    app: Flask, citizen_link: str, db: Session
) -> None:
    citizen = app.test_client()
    bad = dict(pages(3)["personal"], head_birth_date="2019-01-01", phone="01 123 456")
    response = citizen.post(f"/f/{citizen_link}/personal", data=bad)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true" aria-describedby="head_birth_date-e"' in html
    assert 'aria-describedby="phone-e"' in html
    db.expire_all()
    assert db.scalars(select(Link)).one().pages() == {}


def test_unknown_expired_and_used_links_look_the_same(
    app: Flask, citizen_link: str, db: Session
) -> None:
    citizen = app.test_client()
    fill(citizen, f"/f/{citizen_link}", pages(4))
    used = citizen.get(f"/f/{citizen_link}")
    unknown = citizen.get("/f/" + "A" * 24)
    link = db.scalars(select(Link)).one()
    assert used.status_code == unknown.status_code == 404
    assert without(used, citizen_link) == without(unknown, "A" * 24)
    assert link.used_at is not None


def without(response: Any, token: str) -> str:
    """The page with its own token blanked (the language links carry it)."""
    return str(response.get_data(as_text=True)).replace(token, "TOKEN")


def test_guessing_tokens_is_throttled(app: Flask, citizen_link: str) -> None:
    guesser = app.test_client()
    for n in range(30):
        assert guesser.get(f"/f/guess{n:020d}").status_code == 404
    assert guesser.get("/f/guess-after-the-limit-00").status_code == 429
    # A citizen behind the same operator address is not locked out by the guesser.
    assert guesser.get(f"/f/{citizen_link}").status_code == 200


def test_a_family_submitted_twice_makes_one_application(
    client: FlaskClient, app: Flask, citizen_link: str, db: Session
) -> None:
    fill(app.test_client(), f"/f/{citizen_link}", pages(5))
    send_link(client, "71 123 456")
    second = newest_token(db)
    refused = fill(app.test_client(), f"/f/{second}", pages(5))
    assert refused.status_code == 409
    assert count(db, Application) == 1
    assert db.scalars(select(Link).where(Link.used_at.is_not(None))).all()[0].id is not None


def test_member_overlap_is_flagged_for_the_committee(
    client: FlaskClient, app: Flask, citizen_link: str, db: Session
) -> None:
    fill(app.test_client(), f"/f/{citizen_link}", pages(6, member_id="555555555"))
    send_link(client, "71 123 456")
    fill(app.test_client(), f"/f/{newest_token(db)}", pages(7, member_id="555555555"))
    statuses = sorted(a.status for a in db.scalars(select(Application)))
    assert statuses == [ApplicationStatus.NEEDS_REVIEW, ApplicationStatus.RECEIVED]


def test_public_sector_head_is_stored_as_ineligible_with_the_reason(
    app: Flask, citizen_link: str, db: Session
) -> None:
    done = fill(app.test_client(), f"/f/{citizen_link}", pages(8, head_work="public_sector"))
    assert done.status_code == 200
    application = db.scalars(select(Application)).one()
    assert (application.status, application.reason) == (
        ApplicationStatus.INELIGIBLE,
        "public_sector_head",
    )
    assert "القطاع العام" in done.get_data(as_text=True)


def test_nothing_is_accepted_outside_the_window(
    client: FlaskClient, app: Flask, citizen_link: str, db: Session
) -> None:
    from datetime import timedelta

    citizen = app.test_client()
    fill(citizen, f"/f/{citizen_link}", pages(9), upto="housing")
    set_window(db, utcnow() - timedelta(days=20), utcnow() - timedelta(days=1), "test")
    db.commit()
    refused = citizen.post(f"/f/{citizen_link}/finances", data=pages(9)["finances"])
    assert refused.status_code == 403
    assert count(db, Application) == 0
    assert send_link(client, "76 123 456").status_code == 400


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("03 123 456", "+9613123456"),
        ("+961 3 123456", "+9613123456"),
        ("0096176123456", "+96176123456"),
        ("٠٣١٢٣٤٥٦", "+9613123456"),
        ("71-123-456", "+96171123456"),
    ],
)
def test_console_normalises_every_lebanese_form_of_a_mobile(
    client: FlaskClient, focal: StaffUser, db: Session, typed: str, stored: str
) -> None:
    sign_in(client, "focal", PASSWORD)
    assert send_link(client, typed).status_code == 302
    db.expire_all()
    assert db.scalars(select(Link)).one().phone == stored


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("01 123 456", "landline"),
        ("+33 6 12 34 56 78", "not Lebanese"),
        ("hello", "not a phone number"),
        ("9" * 500, "not a phone number"),
    ],
)
def test_console_refuses_landlines_and_foreign_numbers(
    client: FlaskClient, focal: StaffUser, db: Session, typed: str, words: str
) -> None:
    sign_in(client, "focal", PASSWORD)
    client.get("/language/en")
    response = send_link(client, typed, "en")
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert count(db, Link) == 0 and count(db, Message) == 0


def test_console_shows_link_states_and_only_its_municipality(
    client: FlaskClient, app: Flask, citizen_link: str, db: Session
) -> None:
    other = make_user(db, Role.FOCAL_POINT, "10110", username="beirut")
    db.commit()
    fill(app.test_client(), f"/f/{citizen_link}", pages(10))
    mine = client.get("/console/links").get_data(as_text=True)
    assert 'data-state="used"' in mine
    stranger = app.test_client()
    stranger.environ_base["wsgi.url_scheme"] = "https"
    sign_in(stranger, other.username, PASSWORD)
    theirs = stranger.get("/console/links").get_data(as_text=True)
    assert "link-row" not in theirs
    assert "application-row" not in stranger.get("/console/applications").get_data(as_text=True)
    listed = client.get("/console/applications").get_data(as_text=True)
    assert listed.count("application-row") == 1


def test_previous_forms_are_searchable_by_reference_and_phone(
    client: FlaskClient, app: Flask, citizen_link: str, db: Session
) -> None:
    fill(app.test_client(), f"/f/{citizen_link}", pages(11))
    reference = db.scalars(select(Application.reference)).one()
    for query in (reference, references.grouped(reference), "03 123 456"):
        found = client.get("/console/applications", query_string={"q": query})
        assert found.get_data(as_text=True).count("application-row") == 1
    assert "application-row" not in client.get(
        "/console/applications", query_string={"q": "71 999 999"}
    ).get_data(as_text=True)


def test_assisted_entry_is_recorded_as_entered_by_the_focal_point(
    client: FlaskClient, focal: StaffUser, db: Session
) -> None:
    sign_in(client, "focal", PASSWORD)
    started = client.post("/console/forms/new", data={"csrf_token": csrf(client, "/console")})
    assert started.status_code == 302
    base = started.headers["Location"].rsplit("/", 1)[0]
    for page, values in pages(12).items():
        response = client.post(
            f"{base}/{page}", data=dict(values, csrf_token=csrf(client, f"{base}/{page}"))
        )
    assert response is not None and "تم ارسال بيانك" in response.get_data(as_text=True)
    application = db.scalars(select(Application)).one()
    assert (application.channel, application.entered_by_id) == ("assisted", focal.id)


# What a browser posts for the member block the family page offers, left untouched.
UNTOUCHED_MEMBER = {
    f"members-0-{name}": ""
    for name in ("first_name", "relation", "sex", "birth_date", "id_number", "work")
}


def test_a_household_of_one_continues_past_the_blank_member_block(
    app: Flask, citizen_link: str, db: Session
) -> None:
    """The head alone: the blank block the page offers is no member, not a required field."""
    citizen, base, household = app.test_client(), f"/f/{citizen_link}", pages(13)
    citizen.post(f"{base}/personal", data=household["personal"])
    assert 'name="members-0-first_name"' in citizen.get(f"{base}/family").get_data(as_text=True)
    response = citizen.post(f"{base}/family", data=UNTOUCHED_MEMBER)
    assert response.status_code == 302 and response.headers["Location"].endswith("/housing")
    rest = {page: household[page] for page in ("housing", "finances")}
    assert "تم ارسال بيانك" in fill(citizen, base, rest).get_data(as_text=True)
    application = db.scalars(select(Application)).one()
    assert application.pages()["family"] == {"members": []}


def test_enter_in_a_member_field_saves_rather_than_removes(app: Flask, citizen_link: str) -> None:
    """Enter presses a form's first submit button: on the family page it must be "continue"."""
    citizen, base = app.test_client(), f"/f/{citizen_link}"
    citizen.post(f"{base}/personal", data=pages(15)["personal"])
    html = citizen.get(f"{base}/family").get_data(as_text=True)
    form = html[html.index("<form") :]
    first_button = re.search(r"<button[^>]*>", form)
    assert first_button and 'type="submit"' in first_button.group(0)
    assert "name=" not in first_button.group(0)  # not an "add" or "remove-N" action
    assert form.index(first_button.group(0)) < form.index('name="members-0-first_name"')


def test_a_household_of_one_continues_in_the_assisted_form(
    client: FlaskClient, focal: StaffUser, db: Session
) -> None:
    sign_in(client, "focal", PASSWORD)
    started = client.post("/console/forms/new", data={"csrf_token": csrf(client, "/console")})
    base = started.headers["Location"].rsplit("/", 1)[0]
    household = pages(14) | {"family": UNTOUCHED_MEMBER}
    for page, values in household.items():
        response = client.post(
            f"{base}/{page}", data=dict(values, csrf_token=csrf(client, f"{base}/{page}"))
        )
        assert response.status_code in (200, 302), page
    assert "تم ارسال بيانك" in response.get_data(as_text=True)
    application = db.scalars(select(Application)).one()
    assert application.pages()["family"] == {"members": []}


def test_each_form_page_is_small(app: Flask, citizen_link: str) -> None:
    """HTML and CSS of each page together stay under 30 KB for a cheap phone on 3G."""
    citizen = app.test_client()
    household = pages(13)
    for page, values in household.items():
        size = len(citizen.get(f"/f/{citizen_link}/{page}").get_data())
        assert size <= 30 * 1024, (page, size)
        citizen.post(f"/f/{citizen_link}/{page}", data=values) if page != "finances" else None


def test_the_receipt_sms_fits_one_segment_in_every_language(
    app: Flask, db: Session, open_round: None
) -> None:
    from core.receipts import owe_receipt
    from core.segments import segments
    from texts.sms import compose

    with app.test_request_context():
        for language, encoding in (("ar", "UCS-2"), ("en", "GSM-7"), ("fr", "GSM-7")):
            application = Application(
                reference="9" * 9 + "9", phone="+9613123456", language=language, locality_code=HOME
            )
            body = db.get(Message, owe_receipt(db, application, compose)).body
            assert segments(body) == (encoding, 1), (language, body)
            assert references.grouped("9999999999") in body


def test_a_submitted_link_keeps_no_copy_of_the_family_data(
    app: Flask, citizen_link: str, db: Session
) -> None:
    assert fill(app.test_client(), f"/f/{citizen_link}", pages(11)).status_code == 200
    link = db.scalars(select(Link)).one()
    application = db.scalars(select(Application)).one()
    assert link.used_at is not None and link.pages() == {}  # the draft went with the link
    assert set(application.pages()) == {"personal", "family", "housing", "finances"}
    assert application.pages()["finances"] == {
        **application.pages()["finances"],
        "declaration": True,
    }


def test_a_reference_already_taken_is_drawn_again(
    client: FlaskClient,
    app: Flask,
    citizen_link: str,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken, fresh = "123456789", "987654321"
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr(
        references, "new_reference", lambda: (body := next(draws)) + references.check_digit(body)
    )
    fill(app.test_client(), f"/f/{citizen_link}", pages(12))
    send_link(client, "71 123 456")
    second = fill(app.test_client(), f"/f/{newest_token(db)}", pages(13))
    assert second.status_code == 200
    stored = sorted(a.reference for a in db.scalars(select(Application)))
    assert stored == sorted(
        [taken + references.check_digit(taken), fresh + references.check_digit(fresh)]
    )
    assert references.grouped(fresh + references.check_digit(fresh)) in second.get_data(
        as_text=True
    )


def test_the_family_lookup_reads_the_value_index_however_young_the_table(
    app: Flask, citizen_link: str, db: Session
) -> None:
    """Every submission asks whether its values are known: never by scanning the whole round.

    The lookup once narrowed by round only and filtered every key of it, on young tables
    whose statistics lag (PostgreSQL), so each form cost more than the one before.
    """
    from core.applications import FamilyKey
    from core.submissions import _KNOWN_KEYS

    fill(app.test_client(), f"/f/{citizen_link}", pages(14))
    application = db.scalars(select(Application)).one()
    db.execute(
        FamilyKey.__table__.insert(),
        [
            {
                "programme_id": application.programme_id,
                "kind": "member_id",
                "value": f"{500000000 + n}",
                "unique_value": f"{application.id}:{n + 100}",
                "application_id": application.id,
            }
            for n in range(3000)
        ],
    )
    dialect = db.get_bind().dialect
    query = _KNOWN_KEYS.params(programme_id=application.programme_id, values=["1", "2", "3"])
    sql = str(
        query.compile(
            dialect=dialect, compile_kwargs={"literal_binds": True, "render_postcompile": True}
        )
    )
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    plan = " ".join(str(row[-1]) for row in db.connection().exec_driver_sql(explain + sql))
    db.rollback()
    if dialect.name == "sqlite":
        assert "USING INDEX" in plan and "value=?" in plan, plan
    else:
        assert "uq_family_keys_value" in plan, plan
        assert "Filter" not in plan, plan  # answered by the index, not by reading the round


@pytest.mark.parametrize("status", list(ApplicationStatus))
def test_status_and_ticket_sms_fit_one_segment_in_every_language(
    app: Flask, status: ApplicationStatus
) -> None:
    from core.sayings import ComplaintTicket
    from core.segments import segments
    from scoring.status import status_of
    from texts.sms import compose

    application = Application(reference="9999999999", phone="+9613123456", status=status)
    sayings = (status_of(application), ComplaintTicket("12345678"))
    with app.test_request_context():
        for language, encoding in (("ar", "UCS-2"), ("en", "GSM-7"), ("fr", "GSM-7")):
            for text in (compose(said, language) for said in sayings):
                assert segments(text) == (encoding, 1), (language, text)
