"""In a real headless Chromium: a committee member approves a published list (one approval is
not enough for the army), a second member's approval opens the exports, the army assigns the
municipality's mukhtar, and records a refusal with the signed declaration's number and the
mukhtar as assisting."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core.db import make_sessionmaker
from core.ed25519_keys import generate_private_key, private_key_pem
from core.roles import Role
from core.users import StaffUser
from distribution.approvals import approve_list
from distribution.handovers import issue_vouchers
from scoring.lists import BeneficiaryList
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.factories import HOME, make_user
from tests.support.list_factories import families, make_list

pytestmark = pytest.mark.browser


@dataclass
class CircularSite:
    base: str
    passwords: dict[str, str]
    db: Session
    list_id: int
    code: str  # a voucher of the list, issued at publication
    second_member: int
    mukhtar: int


@pytest.fixture
def circular_site(tmp_path: Path) -> Iterator[CircularSite]:
    """The demo service; a published list of two families in Chiyah, not approved yet; a
    second committee member and a mukhtar of Chiyah."""
    key = generate_private_key()
    key_file = tmp_path / "voucher-signing-key.pem"
    key_file.write_bytes(private_key_pem(key))
    app, engine, output = demo_service(tmp_path, voucher_signing_key_file=str(key_file))
    passwords = {}
    for name in ("demo-army", "demo-committee"):
        found = re.search(rf"{name}\s+(\S+)\s+", output)
        assert found, output
        passwords[name] = found.group(1)
    db = make_sessionmaker(engine)()
    published = make_list(db, families(db, 2))
    code = issue_vouchers(db, published, HOME, key, "system")[0].code
    member = make_user(db, Role.COMMITTEE, "LB", username="second-member")
    mukhtar = make_user(db, Role.MUKHTAR, HOME, username="mukhtar-chiyah")
    db.commit()
    site = CircularSite("", passwords, db, published.id, code, member.id, mukhtar.id)
    db.rollback()  # SQLite: an open transaction would hold the write lock
    with live_server(app) as base:
        site.base = base
        yield site
    db.close()
    engine.dispose()


def test_two_members_approve_and_the_army_records_a_declared_refusal_with_its_mukhtar(
    circular_site: CircularSite,
) -> None:
    site, list_page = circular_site, f"/console/lists/{circular_site.list_id}"
    with chromium() as browser:
        committee = browser.new_context().new_page()
        sign_in(committee, site.base, "demo-committee", site.passwords["demo-committee"], list_page)
        committee.click("#approve-form button[type=submit]")
        assert "Your approval is recorded" in committee.inner_text("#approvals")
        assert committee.get_attribute("#approval-status", "data-status") == "pending"
        assert "1 of 2 approvals" in committee.inner_text("#approval-status")
        assert committee.locator("#approve-form").count() == 0

        army = browser.new_context().new_page()
        sign_in(army, site.base, "demo-army", site.passwords["demo-army"], list_page)
        assert army.locator("button.csv-button").count() == 0  # one member is not enough
        db = site.db  # the second member approves through the same rule
        approve_list(
            db, db.get_one(BeneficiaryList, site.list_id), db.get_one(StaffUser, site.second_member)
        )
        db.commit()
        army.reload()
        assert army.get_attribute("#approval-status", "data-status") == "approved"
        assert army.locator(f"tr[data-locality='{HOME}'] button.csv-button").count() == 1

        army.click(f"tr[data-locality='{HOME}'] a.assisting-link")
        army.select_option("#account", str(site.mukhtar))
        army.click("#assign-form button[value=assign]")
        assert "mukhtar-chiyah" in army.inner_text("#assigned")

        army.goto(f"{site.base}/console/vouchers/{site.code}")
        army.fill("#reason", "The family refused the parcel")
        army.click("#refusal-form button[value=refused]")
        assert "signed the written declaration" in army.inner_text("#error")
        army.fill("#reason", "The family refused the parcel")
        army.check("input[name=declaration_signed]")
        army.fill("#declaration_number", "B-0457")
        army.select_option("#assisted_by-refusal", str(site.mukhtar))
        army.click("#refusal-form button[value=refused]")
        assert "The refusal is recorded" in army.inner_text("#recorded")
        row = army.locator("#history tr[data-outcome=refused]")
        assert row.locator(".paper").inner_text() == "B-0457"
        assert row.locator(".assisted").inner_text() == "mukhtar-chiyah"
