"""Printing over HTTP: the receipt a family keeps (its reference, check digit, Beirut day of
sending, what happens next, 1766) with the print style sheet and within its weight; the blank
form a focal point prints for a family with no phone, holding every field and choice of the
form's definition; and no one else may print it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.applications import Application
from core.audit import AuditEvent
from core.geography import AreaLevel
from core.household import FIELD_OPTIONS, MAX_MEMBERS, MEMBER_FIELDS, OPTIONS, PAGE_FIELDS, PAGES
from core.programme import set_window
from core.references import grouped
from core.roles import AREA_LEVELS, PERMISSIONS, Permission, Role
from core.users import StaffUser
from tests.plugins.citizen_forms import fill, newest_token, send_link
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user
from tests.support.households import pages
from tests.support.staff_web import csrf, sign_in

# 22:30 UTC on 3 May 2020 is 01:30 on 4 May in Beirut (summer time): the receipt's day is
# Beirut's, not the server's.
NIGHT = datetime(2020, 5, 3, 22, 30, tzinfo=UTC)
# The Arabic receipt weighed 3,681 bytes before it could be printed; the print style sheet
# and the check digit, the day and what happens next may add about 1.2 KB, no more.
RECEIPT_BUDGET = 5_000
SENT_ON = {"ar": "4 مايو 2020", "en": "May 4, 2020", "fr": "4 mai 2020"}
WHAT_NEXT = {"ar": "ماذا يحدث بعد ذلك", "en": "What happens next", "fr": "La suite"}


@pytest.fixture
def night_focal(db: Session) -> StaffUser:
    """A focal point of HOME in a round open on the night of 3 to 4 May 2020."""
    clock.freeze(NIGHT)
    load_sample_geography(db)
    set_window(db, NIGHT - timedelta(days=1), NIGHT + timedelta(days=10), "test")
    user = make_user(db, Role.FOCAL_POINT, HOME, username="night-focal")
    db.commit()
    return user


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no #{element_id}"
    return re.sub(r"<[^>]+>", "", found.group(1))


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_the_receipt_shows_reference_check_digit_beirut_day_and_what_next(
    client: FlaskClient, night_focal: StaffUser, db: Session, language: str
) -> None:
    sign_in(client, "night-focal", PASSWORD)
    assert send_link(client, language=language).status_code == 302
    citizen = client.application.test_client()
    done = fill(citizen, f"/f/{newest_token(db)}", pages(31))
    html = done.get_data(as_text=True)
    assert done.status_code == 200

    application = db.scalars(select(Application)).one()
    assert _text(html, "reference") == grouped(application.reference)
    assert application.reference[-1] in _text(html, "check-digit")
    assert '<time datetime="2020-05-04">' in html and SENT_ON[language] in _text(html, "sent-on")
    assert WHAT_NEXT[language] in html and "1766" in html
    assert "@page{size:A4" in html and "@media print{" in html
    if language == "ar":  # the heaviest: two bytes a letter
        assert len(done.get_data()) <= RECEIPT_BUDGET


def test_the_receipt_a_focal_point_prints_for_a_caller(
    client: FlaskClient, night_focal: StaffUser, db: Session
) -> None:
    sign_in(client, "night-focal", PASSWORD)
    started = client.post("/console/forms/new", data={"csrf_token": csrf(client, "/console")})
    base = started.headers["Location"].rsplit("/", 1)[0]
    for page, values in pages(32).items():
        done = client.post(
            f"{base}/{page}", data=dict(values, csrf_token=csrf(client, f"{base}/{page}"))
        )
    html = done.get_data(as_text=True)
    application = db.scalars(select(Application)).one()
    assert application.channel == "assisted"
    assert _text(html, "reference") == grouped(application.reference)
    assert application.reference[-1] in _text(html, "check-digit")
    assert '<time datetime="2020-05-04">' in html
    assert "@page{size:A4" in html  # the console's form pages print too


# An area of each level for the accounts below (Chiyah, Baabda, Mount Lebanon, Lebanon).
AREA_OF_LEVEL = {
    AreaLevel.LOCALITY: HOME,
    AreaLevel.DISTRICT: "LB32",
    AreaLevel.GOVERNORATE: "LB3",
    AreaLevel.NATIONAL: "LB",
}


def _signed_in(client: FlaskClient, db: Session, role: Role) -> StaffUser:
    load_sample_geography(db)
    level = min(AREA_LEVELS[role], key=list(AREA_OF_LEVEL).index)
    user = make_user(db, role, AREA_OF_LEVEL[level], username=f"{role.value}-printer")
    db.commit()
    sign_in(client, user.username, PASSWORD)
    client.get("/language/en")
    return user


def test_the_blank_form_holds_every_field_and_choice_of_the_definition(
    client: FlaskClient, db: Session
) -> None:
    user = _signed_in(client, db, Role.FOCAL_POINT)
    assert 'id="blank-form-link"' in client.get("/console").get_data(as_text=True)
    response = client.get("/console/forms/blank")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="en" dir="ltr">' in html

    sheets = re.findall(r'<section class="sheet" id="sheet-(\w+)">', html)
    assert sheets == list(PAGES)
    # Every field of every page, and of a member, from the form's own definition.
    names = [name for page in PAGES for name in PAGE_FIELDS[page] if name != "members"]
    for name in [*names, *MEMBER_FIELDS]:
        assert f'data-field="{name}"' in html, name
    for name, options in FIELD_OPTIONS.items():
        shown = _block(html, name)
        assert all(f'data-option="{value}"' in shown for value in OPTIONS[options]), name
    assert (
        "Number of rooms" in html and "Husband or wife" in html and "Generator subscription" in html
    )
    members = html[html.index('class="members"') :]
    assert members.count('<td class="n">') == MAX_MEMBERS

    db.expire_all()
    printed = db.scalars(select(AuditEvent).where(AuditEvent.action == "form.blank_printed")).one()
    assert (printed.actor, printed.details) == (user.username, "{}")


def _block(html: str, name: str) -> str:
    """The markup of one field's question (or its legend under the members table)."""
    start = html.rindex(f'data-field="{name}"')
    end = html.find("</div>", start)
    para = html.find("</p>", start)
    return html[start : min(i for i in (end, para) if i != -1)]


def test_the_blank_form_in_arabic(client: FlaskClient, db: Session) -> None:
    _signed_in(client, db, Role.MUKHTAR)
    client.get("/language/ar")
    html = client.get("/console/forms/blank").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "عدد الغرف" in html and "توقيع رب الأسرة" in html


@pytest.mark.parametrize(
    "role", [r for r in Role if Permission.ENTER_APPLICATIONS not in PERMISSIONS[r]]
)
def test_staff_who_may_not_enter_forms_may_not_print_one(
    client: FlaskClient, db: Session, role: Role
) -> None:
    _signed_in(client, db, role)
    assert client.get("/console/forms/blank").status_code == 403
    assert 'id="blank-form-link"' not in client.get("/console").get_data(as_text=True)


def test_the_blank_form_asks_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/console/forms/blank")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
