"""`/help`: open without signing in, the circular's support numbers as `tel:` links, the
hotline, a guide for every role in each language, linked from the sign-in page and the
console."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.roles import Role
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.quick_accounts import account
from tests.support.staff_web import sign_in

NUMBERS = {"04/548393": "+9614548393", "81/117725": "+96181117725", "01/990011": "+9611990011"}


def test_help_opens_without_signing_in_with_the_support_numbers(client: FlaskClient) -> None:
    client.get("/language/en")
    response = client.get("/help")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for shown, dial in NUMBERS.items():
        assert re.search(rf'href="tel:{re.escape(dial)}"[^>]*><bdi>{shown}</bdi>', page), shown
    assert re.search(r'id="hotline" href="tel:1766"', page)
    guides = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page)
    assert len(guides) == len(Role)  # one guide per role, none empty
    assert (guides[3][0], guides[3][1][:16]) == ("Qaimaqam", "Follow the forms")
    assert 'href="/sign-in"' in page


def test_the_sign_in_page_links_to_help(client: FlaskClient) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    assert re.search(r'<a href="/help" id="help-link">', page)


def test_every_console_page_links_to_help(client: FlaskClient, db: Session) -> None:
    load_sample_geography(db, (HOME,))
    account(db, "focal-help", Role.FOCAL_POINT, HOME)
    db.commit()
    sign_in(client, "focal-help")
    for path in ("/console", "/console/decisions"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r'<a href="/help" id="help-link">', page), path
    back = client.get("/help").get_data(as_text=True)
    assert 'href="/console"' in back  # signed in: back to the console


def test_help_opens_before_the_pledge_is_accepted(client: FlaskClient, db: Session) -> None:
    load_sample_geography(db, (HOME,))
    make_user(db, Role.MUKHTAR, HOME, "mukhtar-unpledged", pledged=False)
    db.commit()
    sign_in(client, "mukhtar-unpledged")
    assert "/pledge" in client.get("/console").headers["Location"]  # the pledge comes first
    response = client.get("/help")
    assert response.status_code == 200 and "tel:+9614548393" in response.get_data(as_text=True)


def test_help_in_arabic_is_right_to_left_and_in_french_too(client: FlaskClient) -> None:
    client.get("/language/ar")
    arabic = client.get("/help").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "أرقام" in arabic or "دعم" in arabic
    assert "القائمقام" in arabic or "قائمقام" in arabic
    assert all(f"tel:{dial}" in arabic for dial in NUMBERS.values())
    assert "<bdi>04/548393</bdi>" in arabic  # the number keeps its order in right-to-left text
    client.get("/language/fr")
    french = client.get("/help").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in french and "Aide" in french
