"""The handover as the circular describes it, over HTTP: the army's export carries the delivery
address and the phones; two committee members approve a list before the army exports it; the
army assigns the municipality's mukhtars and volunteers; the handover form asks for a refusal's
signed declaration and records who assisted."""

from __future__ import annotations

import csv
import io
import json
import re

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.audit import AuditEvent
from core.roles import Role
from core.users import StaffUser
from distribution.approvals import ListApproval
from distribution.assists import AssistAssignment, HandoverAssist
from distribution.declarations import Declaration
from distribution.handovers import Handover, Voucher, issue_vouchers
from tests.plugins.handover_world import World
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import ELSEWHERE, HOME, SAME_DISTRICT
from tests.support.list_factories import make_list
from tests.support.staff_web import csrf, signed_in_as

PEOPLE = {
    "army": (Role.ARMY, "LB3"),
    "army-beirut": (Role.ARMY, "LB1"),
    "ministry": (Role.MINISTRY, "LB"),
    "member-a": (Role.COMMITTEE, "LB"),
    "member-b": (Role.COMMITTEE, "LB"),
    "mukhtar-home": (Role.MUKHTAR, HOME),
    "volunteer-home": (Role.VOLUNTEER, HOME),
    "mukhtar-next-door": (Role.MUKHTAR, SAME_DISTRICT),
    "focal-home": (Role.FOCAL_POINT, HOME),
}
ADDRESS = "شارع المدارس، بناية حداد، الطابق الثاني"  # every test family's (tests/support)


def as_user(client: FlaskClient, db: Session, username: str) -> FlaskClient:
    return signed_in_as(client, db, username, PEOPLE)


def account_id(db: Session, username: str) -> int:
    if db.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
        from tests.support.quick_accounts import account

        account(db, username, *PEOPLE[username])
        db.commit()
    return int(db.scalar(select(StaffUser.id).where(StaffUser.username == username)) or 0)


def post(client: FlaskClient, path: str, **form: str) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf(client, "/console/lists"), **form})


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def count(db: Session, model: object) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


# --- the army's export for home delivery -------------------------------------------------------


def test_the_export_carries_the_delivery_address_and_both_phones(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    first = handover_world.home[0]
    pages = first.pages()
    pages["personal"]["second_phone"] = "+96176123456"
    first.data = json.dumps(pages)
    db.commit()
    path = f"/console/lists/{handover_world.published.id}/{HOME}"
    response = post(as_user(client, db, "army"), f"{path}.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3 and all(row["delivery_address"] == ADDRESS for row in rows)
    by_reference = {row["reference"]: row for row in rows}
    assert by_reference[first.reference]["second_phone"] == "'+96176123456"
    assert by_reference[handover_world.home[1].reference]["second_phone"] == ""
    printed = post(client, f"{path}/print").get_data(as_text=True)
    assert printed.count(ADDRESS) == 3 and "+96176123456" in printed
    for event in events(db, "export.vouchers"):  # on record, without the address or a phone
        assert ADDRESS not in event.details and "+961" not in event.details
    outside = post(as_user(client, db, "army-beirut"), f"{path}.csv")
    assert outside.status_code == 404 and ADDRESS not in outside.get_data(as_text=True)
    assert post(as_user(client, db, "ministry"), f"{path}.csv").status_code == 403


# --- four eyes before the army receives the list -----------------------------------------------


def test_the_army_exports_a_list_only_once_two_members_have_approved_it(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    fresh = make_list(db, handover_world.home)
    db.commit()
    page_path, export_path = f"/console/lists/{fresh.id}", f"/console/lists/{fresh.id}/{HOME}.csv"
    page = as_user(client, db, "army").get(page_path).get_data(as_text=True)
    assert 'data-status="pending"' in page and "0 of 2 approvals" in page
    assert export_path not in page and "approve-form" not in page
    refused = post(client, export_path)
    assert refused.status_code == 409 and "has not approved this list yet" in refused.text
    assert events(db, "export.vouchers") == [] and count(db, Voucher) == 0

    page = as_user(client, db, "member-a").get(page_path).get_data(as_text=True)
    assert 'id="approve-form"' in page
    approved = post(client, f"{page_path}/approval")
    assert approved.status_code == 303 and approved.headers["Location"].endswith("#approvals")
    page = client.get(approved.headers["Location"]).get_data(as_text=True)
    assert "Approved by member-a" in page and "1 of 2 approvals" in page
    assert "approve-form" not in page  # the same member does not approve twice
    twice = post(client, f"{page_path}/approval")
    assert twice.status_code == 409 and "another member of the committee" in twice.text

    assert post(as_user(client, db, "army"), export_path).status_code == 409  # one is not enough
    assert post(as_user(client, db, "member-b"), f"{page_path}/approval").status_code == 303
    page = as_user(client, db, "army").get(page_path).get_data(as_text=True)
    assert 'data-status="approved"' in page and export_path in page
    assert post(client, export_path).status_code == 200
    assert [json.loads(e.details)["approvals"] for e in events(db, "list.approved")][-2:] == [1, 2]


def test_no_handover_is_recorded_against_a_list_awaiting_approval(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    fresh = make_list(db, handover_world.home)
    voucher = issue_vouchers(db, fresh, HOME, SERVICE_KEY, "system")[0]
    db.commit()
    page = as_user(client, db, "army").get(f"/console/vouchers/{voucher.code}").text
    assert 'id="approval-pending"' in page and "0 of 2 approvals" in page
    assert "handover-form" not in page and "refusal-form" not in page
    handed = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    refused = post(client, f"/console/vouchers/{voucher.code}/handover", **handed)
    assert refused.status_code == 409 and "has not approved this list yet" in refused.text
    db.refresh(voucher)
    assert not voucher.is_used and count(db, Handover) == 0


def test_only_committee_members_approve_published_lists(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    fresh = make_list(db, handover_world.home)
    db.commit()
    before = count(db, ListApproval)
    for username in ("army", "ministry"):
        assert (
            post(as_user(client, db, username), f"/console/lists/{fresh.id}/approval").status_code
            == 403
        )
    member = as_user(client, db, "member-a")
    draft = post(member, f"/console/lists/{handover_world.draft.id}/approval")
    assert draft.status_code == 409 and "once it is published" in draft.text
    assert post(member, "/console/lists/999999/approval").status_code == 404
    assert count(db, ListApproval) == before


# --- mukhtars and volunteers who assist -------------------------------------------------------


def assisting(list_id: int, locality: str = HOME) -> str:
    return f"/console/lists/{list_id}/{locality}/assisting"


def test_the_army_assigns_the_municipalitys_mukhtars_and_volunteers(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    ids = {name: account_id(db, name) for name in PEOPLE if name.endswith(("-home", "-door"))}
    path = assisting(handover_world.published.id)
    list_page = as_user(client, db, "army").get(f"/console/lists/{handover_world.published.id}")
    assert path in list_page.get_data(as_text=True)
    page = client.get(path).get_data(as_text=True)
    offered = set(re.findall(r'<option value="(\d+)"', page))
    assert offered == {str(ids["mukhtar-home"]), str(ids["volunteer-home"])}
    done = post(client, path, account=str(ids["mukhtar-home"]), action="assign")
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="notice"' in page and f'data-account="{ids["mukhtar-home"]}"' in page
    for outsider in ("mukhtar-next-door", "focal-home"):
        refused = post(client, path, account=str(ids[outsider]), action="assign")
        assert refused.status_code == 400 and "Only an active mukhtar or volunteer" in refused.text
    assert count(db, AssistAssignment) == 1 and len(events(db, "handover.assist_assigned")) == 1
    assert (
        post(client, path, account=str(ids["mukhtar-home"]), action="unassign").status_code == 303
    )
    assert count(db, AssistAssignment) == 0 and len(events(db, "handover.assist_unassigned")) == 1
    assert as_user(client, db, "army-beirut").get(path).status_code == 404
    assert client.get(assisting(handover_world.published.id, ELSEWHERE)).status_code == 200
    assert as_user(client, db, "ministry").get(path).status_code == 403


# --- the handover form -------------------------------------------------------------------------


def test_a_refusal_needs_its_declaration_and_a_record_names_who_assisted(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    first, second = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")[:2]
    db.commit()
    mukhtar, volunteer = account_id(db, "mukhtar-home"), account_id(db, "volunteer-home")
    army = as_user(client, db, "army")
    post(army, assisting(handover_world.published.id), account=str(mukhtar), action="assign")
    page = client.get(f"/console/vouchers/{first.code}").get_data(as_text=True)
    assert 'id="declaration"' in page and f'<option value="{mukhtar}">mukhtar-home' in page
    action = f"/console/vouchers/{first.code}/handover"
    refusal = {"outcome": "refused", "reason": "Refused the parcel", "assisted_by": str(mukhtar)}
    unsigned = post(client, action, **refusal, declaration_number="A-77")
    assert unsigned.status_code == 400 and "signed the written declaration" in unsigned.text
    no_number = post(client, action, **refusal, declaration_signed="yes")
    assert no_number.status_code == 400 and "number printed on the signed" in no_number.text
    assert count(db, Handover) == 0 and count(db, Declaration) == 0
    done = post(client, action, **refusal, declaration_signed="yes", declaration_number="a-77")
    assert done.status_code == 302
    history = client.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r'class="paper" dir="ltr">A-77<', history)
    assert re.search(r'class="assisted"><bdi>mukhtar-home<', history)
    assert len(events(db, "handover.declaration")) == 1 and count(db, HandoverAssist) == 1

    handed = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    stranger = post(
        client, f"/console/vouchers/{second.code}/handover", **handed, assisted_by=str(volunteer)
    )
    assert stranger.status_code == 400 and "not assigned to this list" in stranger.text
    db.refresh(second)
    assert not second.is_used and count(db, HandoverAssist) == 1
    alone = post(client, f"/console/vouchers/{second.code}/handover", **handed, assisted_by="")
    assert alone.status_code == 302 and count(db, HandoverAssist) == 1
