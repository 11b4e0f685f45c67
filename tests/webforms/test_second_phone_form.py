"""The household form's optional second mobile over HTTP: offered on the first page, checked
(a Lebanese mobile, not the first number again) in the page's language, and kept with the
application, for the citizen's form and the focal point's assisted entry alike."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.links import Link
from core.users import StaffUser
from tests.plugins.citizen_forms import fill
from tests.support.factories import PASSWORD
from tests.support.households import pages
from tests.support.staff_web import csrf, sign_in


def test_the_first_page_offers_an_optional_second_mobile(app: Flask, citizen_link: str) -> None:
    citizen = app.test_client()
    html = citizen.get(f"/f/{citizen_link}/personal").get_data(as_text=True)
    field = html[html.index('id="second_phone"') - 200 : html.index('id="second_phone"') + 200]
    assert 'type="tel"' in field and "required" not in field
    assert "رقم هاتف خلوي ثانٍ (اختياري)" in html

    citizen.get("/language/fr")
    french = citizen.get(f"/f/{citizen_link}/personal").get_data(as_text=True)
    assert "Deuxième numéro de téléphone mobile (facultatif)" in french


def test_the_same_number_twice_or_a_landline_is_refused_in_the_citizens_language(
    app: Flask, citizen_link: str, db: Session
) -> None:
    citizen, base = app.test_client(), f"/f/{citizen_link}"
    same = dict(pages(21)["personal"], second_phone="\u200f٠٣ ١٢٣ ٤٥٦")  # the first, in Arabic
    refused = citizen.post(f"{base}/personal", data=same)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'aria-describedby="second_phone-e"' in html
    assert "يجب أن يختلف الرقم الثاني عن الرقم الأول" in html

    citizen.get("/language/en")
    landline = dict(pages(21)["personal"], second_phone="01 234 567")
    html = citizen.post(f"{base}/personal", data=landline).get_data(as_text=True)
    assert "Enter a Lebanese mobile number, e.g. 03 123 456." in html
    emoji = dict(pages(21)["personal"], second_phone="📱" * 500)
    assert citizen.post(f"{base}/personal", data=emoji).status_code == 400
    db.expire_all()
    assert db.scalars(select(Link)).one().pages() == {}  # nothing saved from a refused page


def test_the_second_mobile_is_kept_with_the_application(
    app: Flask, citizen_link: str, db: Session
) -> None:
    household = pages(22)
    household["personal"]["second_phone"] = "٠٧١ ٩٩٩ ٨٨٨"
    done = fill(app.test_client(), f"/f/{citizen_link}", household)
    assert "تم ارسال بيانك" in done.get_data(as_text=True)
    application = db.scalars(select(Application)).one()
    assert (application.phone, application.second_phone) == ("+9613123456", "+96171999888")


def test_without_a_second_mobile_the_form_goes_through_as_before(
    app: Flask, citizen_link: str, db: Session
) -> None:
    household = pages(23)
    household["personal"]["second_phone"] = ""
    assert "تم ارسال بيانك" in fill(app.test_client(), f"/f/{citizen_link}", household).get_data(
        as_text=True
    )
    assert db.scalars(select(Application)).one().second_phone is None


def test_a_focal_point_types_the_second_mobile_in_the_assisted_form(
    client: FlaskClient, focal: StaffUser, db: Session
) -> None:
    sign_in(client, "focal", PASSWORD)
    started = client.post("/console/forms/new", data={"csrf_token": csrf(client, "/console")})
    base = started.headers["Location"].rsplit("/", 1)[0]
    assert 'name="second_phone"' in client.get(f"{base}/personal").get_data(as_text=True)
    household = pages(24)
    household["personal"]["second_phone"] = "81 555 666"
    for page, values in household.items():
        response = client.post(
            f"{base}/{page}", data=dict(values, csrf_token=csrf(client, f"{base}/{page}"))
        )
    assert "تم ارسال بيانك" in response.get_data(as_text=True)
    assert db.scalars(select(Application)).one().second_phone == "+96181555666"
