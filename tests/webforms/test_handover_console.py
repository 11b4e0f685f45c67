"""The distribution pages over HTTP: lists and municipalities by area, the army's CSV and
printable exports (audited), the public key, the verify page and the handover form's refusals."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.applications import Application
from core.audit import AuditEvent
from core.ed25519_keys import generate_private_key, load_public_key, public_key_pem
from core.tickets import Ticket
from distribution.handovers import Handover, Voucher, issue_vouchers
from distribution.vouchers import sign, verify
from tests.plugins.handover_world import World, user
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import ELSEWHERE, HOME
from tests.support.staff_web import csrf, sign_in

PUBLIC = SERVICE_KEY.public_key()


def signed_in(client: FlaskClient, db: Session, username: str = "army") -> FlaskClient:
    """Signed in as `username` (signing out whoever was), pages in English."""
    user(db, username)
    if client.get("/console").status_code == 200:
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, username)
    client.get("/language/en")
    return client


def export(client: FlaskClient, path: str) -> TestResponse:
    """Press an export button on a list's page: a POST with the page's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client, "/console/lists")})


def vouchers(db: Session, handover_world: World) -> list[Voucher]:
    made = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")
    db.commit()
    return made


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def handovers(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Handover)) or 0)


# --- lists and exports ---------------------------------------------------------------------------


def test_the_army_finds_its_lists_from_the_console_home(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    home = signed_in(client, db).get("/console").get_data(as_text=True)
    assert 'href="/console/lists"' in home and 'href="/console/vouchers/verify"' in home
    page = client.get("/console/lists").get_data(as_text=True)
    assert page.count('class="list-row"') == 2
    published = client.get(f"/console/lists/{handover_world.published.id}").get_data(as_text=True)
    # Mount Lebanon's municipalities only: Chiyah, not Beirut.
    assert re.findall(r'data-locality="(\d+)"', published) == [HOME]
    assert f"/console/lists/{handover_world.published.id}/{HOME}.csv" in published
    draft = client.get(f"/console/lists/{handover_world.draft.id}").get_data(as_text=True)
    assert 'id="not-published"' in draft and ".csv" not in draft


def test_read_only_roles_see_lists_but_export_no_vouchers(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    signed_in(client, db, "ministry")
    page = client.get(f"/console/lists/{handover_world.published.id}").get_data(as_text=True)
    assert sorted(re.findall(r'data-locality="(\d+)"', page)) == sorted([HOME, ELSEWHERE])
    assert ".csv" not in page
    assert (
        export(client, f"/console/lists/{handover_world.published.id}/{HOME}.csv").status_code
        == 403
    )
    assert signed_in(client, db, "focal").get("/console/lists").status_code == 403


def test_the_csv_export_carries_each_familys_voucher_and_is_audited(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    first = handover_world.home[0]
    pages = first.pages()
    pages["personal"]["head_first_name"] = "=HYPERLINK(1)"  # typed text a spreadsheet would run
    first.data = json.dumps(pages)
    db.commit()
    response = export(
        signed_in(client, db), f"/console/lists/{handover_world.published.id}/{HOME}.csv"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffreference,head_name,head_id_number,phone,voucher_code,")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert sorted(r["reference"] for r in rows) == sorted(a.reference for a in handover_world.home)
    for row in rows:
        claim = verify(row["voucher_token"], PUBLIC)
        assert (claim.code, claim.reference) == (row["voucher_code"], row["reference"])
        assert row["head_id_number"].startswith("10000000")
        assert row["phone"].startswith("'+961")  # a leading + is defused like a formula
    assert any(r["head_name"] == "'=HYPERLINK(1) حسن الخوري" for r in rows)
    (event,) = events(db, "export.vouchers")
    assert (event.actor, event.object_id) == ("army", str(handover_world.published.id))
    assert json.loads(event.details) == {"format": "csv", "locality": HOME, "rows": 3}
    assert "الخوري" not in event.details and "100000001" not in event.details
    again = export(client, f"/console/lists/{handover_world.published.id}/{HOME}.csv").get_data(
        as_text=True
    )
    assert [r["voucher_token"] for r in csv.DictReader(io.StringIO(again.lstrip("\ufeff")))] == [
        r["voucher_token"] for r in rows
    ]  # the same vouchers every time


@pytest.mark.parametrize(
    "path",
    [
        "/console/lists/{published}/{elsewhere}.csv",  # outside the army's area
        "/console/lists/{draft}/{home}.csv",  # not published
        "/console/lists/{published}/22111.csv",  # no selected family there
        "/console/lists/999999/{home}.csv",
        "/console/lists/{published}/abcde/print",
    ],
)
def test_exports_outside_the_area_or_unpublished_are_not_found(
    client: FlaskClient, db: Session, handover_world: World, path: str
) -> None:
    url = path.format(
        published=handover_world.published.id,
        draft=handover_world.draft.id,
        home=HOME,
        elsewhere=ELSEWHERE,
    )
    assert export(signed_in(client, db), url).status_code == 404
    assert events(db, "export.vouchers") == [] and db.scalar(select(func.count(Voucher.id))) == 0


def test_the_printable_page_has_a_qr_code_per_family_and_the_keys_fingerprint(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    page = export(
        signed_in(client, db), f"/console/lists/{handover_world.published.id}/{HOME}/print"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="voucher"') == 3 and html.count("<svg") == 3
    assert "@page{size:A4" in html and "الخوري" in html
    from core.ed25519_keys import fingerprint

    assert fingerprint(PUBLIC) in html
    (event,) = events(db, "export.vouchers")
    assert json.loads(event.details)["format"] == "print"


@pytest.mark.parametrize("ending", [".csv", "/print"])
def test_an_export_link_followed_or_posted_without_the_token_issues_nothing(
    client: FlaskClient, db: Session, handover_world: World, ending: str
) -> None:
    """A link or a form on another site cannot make an officer export (and issue) vouchers."""
    path = f"/console/lists/{handover_world.published.id}/{HOME}{ending}"
    followed = signed_in(client, db).get(path)
    assert followed.status_code == 303  # back to the list's page, where the buttons are
    assert followed.headers["Location"] == f"/console/lists/{handover_world.published.id}"
    for token in ({}, {"csrf_token": "forged"}):
        refused = client.post(path, data=token)
        assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert events(db, "export.vouchers") == [] and db.scalar(select(func.count(Voucher.id))) == 0
    page = client.get(f"/console/lists/{handover_world.published.id}").get_data(as_text=True)
    assert f'method="post" action="{path}"' in page


def test_the_public_key_is_published_to_anyone(client: FlaskClient, handover_world: World) -> None:
    response = client.get("/vouchers/public-key.pem")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data() == public_key_pem(PUBLIC)
    assert public_key_pem(load_public_key(response.get_data())) == public_key_pem(PUBLIC)


# --- the verify page -------------------------------------------------------------------------


def check(client: FlaskClient, typed: str) -> tuple[int, str]:
    token = csrf(client, "/console/vouchers/verify")
    response = client.post("/console/vouchers/verify", data={"voucher": typed, "csrf_token": token})
    return response.status_code, response.get_data(as_text=True)


def test_a_genuine_voucher_shows_its_family_to_the_officer_of_the_area(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    status, html = check(signed_in(client, db), voucher.token)
    assert status == 200 and 'id="valid"' in html and 'data-status="unused"' in html
    application = db.get_one(Application, voucher.application_id)
    assert application.pages()["personal"]["head_id_number"] in html
    assert 'id="handover-form"' in html and 'id="refusal-form"' in html
    assert len(events(db, "voucher.viewed")) == 1
    status, by_code = check(client, f"{voucher.code[:3]} {voucher.code[3:]}")
    assert status == 200 and 'id="valid"' in by_code


def test_a_read_only_role_learns_only_whether_a_voucher_is_genuine_and_used(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    status, html = check(signed_in(client, db, "ministry"), voucher.code)
    assert status == 200 and 'data-status="unused"' in html
    assert 'id="beneficiary"' not in html and "handover-form" not in html
    assert events(db, "voucher.viewed") == []


def test_an_officer_of_another_area_is_told_so(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    status, html = check(signed_in(client, db, "army-beirut"), voucher.token)
    assert status == 200 and 'id="outside"' in html
    assert "voucher-status" not in html and "handover-form" not in html


@pytest.mark.parametrize(
    ("typed", "status", "says"),
    [
        ("forged", 400, "forged or was altered"),
        ("garbage", 400, "This is not a voucher"),
        ("1766V9.xyz", 400, "not one the 1766 service issues"),
        ("x" * 5000, 400, "far too long"),
        ("   ", 400, "Scan the QR code or type the voucher code"),
        ("1234567891", 400, "a digit was mistyped"),
        ("١٢٣٤٥٦٧٨٩٠", 404, "No voucher has this code"),  # valid check digit, never issued
        ("<script>", 400, "This is not a voucher"),
    ],
)
def test_bad_vouchers_are_refused_in_words(
    client: FlaskClient, db: Session, handover_world: World, typed: str, status: int, says: str
) -> None:
    voucher = vouchers(db, handover_world)[0]
    if typed == "forged":
        typed = sign(verify(voucher.token, PUBLIC), generate_private_key())
    if typed == "garbage":
        typed = voucher.token[:40] + "A" + voucher.token[41:]
    got, html = check(signed_in(client, db), typed)
    assert (got, says in html) == (status, True)
    assert "<script>" not in html.split('id="result"')[1]
    assert "Traceback" not in html and 'id="valid"' not in html


def test_a_five_megabyte_token_is_refused_before_it_is_read(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    signed_in(client, db)
    token = csrf(client, "/console/vouchers/verify")
    big = client.post(
        "/console/vouchers/verify", data={"voucher": "A" * 5_000_000, "csrf_token": token}
    )
    assert big.status_code == 413 and "Too much data" in big.get_data(as_text=True)


# --- the handover form ---------------------------------------------------------------------


def post_handover(client: FlaskClient, code: str, **form: str) -> tuple[int, str]:
    token = csrf(client, "/console/vouchers/verify")
    response = client.post(f"/console/vouchers/{code}/handover", data={"csrf_token": token, **form})
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"outcome": "handed_over", "id_seen": "yes"}, 400, "Tick both boxes"),
        ({"outcome": "handed_over", "signature_obtained": "yes"}, 400, "Tick both boxes"),
        ({"outcome": "refused", "reason": "  "}, 400, "Write the reason."),
        ({"outcome": "disputed", "reason": ""}, 400, "Write the reason."),
        ({"outcome": "refused", "reason": "<b>no</b>"}, 400, "without &lt; or &gt;"),
        ({"outcome": "disputed", "reason": "y" * 501}, 400, "at most 500 characters"),
        ({"outcome": "given_twice"}, 400, "Choose what happened."),
    ],
)
def test_the_handover_form_refuses_what_is_missing_and_keeps_nothing(
    client: FlaskClient,
    db: Session,
    handover_world: World,
    form: dict[str, str],
    status: int,
    says: str,
) -> None:
    voucher = vouchers(db, handover_world)[0]
    got, html = post_handover(signed_in(client, db), voucher.code, **form)
    assert (got, says in html) == (status, True), re.findall(r'id="error"[^<]*', html)
    assert 'id="error"' in html and "<b>no</b>" not in html
    assert handovers(db) == 0 and db.scalar(select(func.count(Ticket.id))) == 0
    db.refresh(voucher)
    assert not voucher.is_used


def test_a_handover_is_recorded_once_and_shown_as_used(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    signed_in(client, db)
    form = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    token = csrf(client, "/console/vouchers/verify")
    done = client.post(
        f"/console/vouchers/{voucher.code}/handover", data={"csrf_token": token, **form}
    )
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="recorded"' in page and 'data-status="used"' in page
    assert "handover-form" not in page and 'data-outcome="handed_over"' in page
    status, html = post_handover(client, voucher.code, **form)
    assert status == 409 and "already been used" in html
    assert handovers(db) == 1 and len(events(db, "voucher.handed_over")) == 1


def test_a_dispute_from_the_console_reaches_the_committee(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    signed_in(client, db)
    token = csrf(client, "/console/vouchers/verify")
    form = {"csrf_token": token, "outcome": "disputed", "reason": "Another family holds the card"}
    done = client.post(f"/console/vouchers/{voucher.code}/handover", data=form)
    assert done.status_code == 302
    db.expire_all()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.category == "distribution" and ticket.application_id == voucher.application_id
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="disputed"' in page and ticket.number in page
    status, html = post_handover(
        client, voucher.code, outcome="handed_over", id_seen="yes", signature_obtained="yes"
    )
    assert status == 409 and "not yet decided" in html


def test_only_the_areas_officers_may_post_a_handover(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    form = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    status, _html = post_handover(signed_in(client, db, "army-beirut"), voucher.code, **form)
    assert status == 403
    status, _html = post_handover(signed_in(client, db, "ministry"), voucher.code, **form)
    assert status == 403
    assert handovers(db) == 0


def test_a_handover_without_the_forms_token_is_refused(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = vouchers(db, handover_world)[0]
    signed_in(client, db)
    form = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    assert client.post(f"/console/vouchers/{voucher.code}/handover", data=form).status_code == 400
    assert client.post("/console/vouchers/0000000000/handover", data=form).status_code == 400
    assert handovers(db) == 0
