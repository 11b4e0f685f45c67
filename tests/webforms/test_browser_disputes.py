"""In a real headless Chromium: an officer's dispute reaches the committee; a committee member
opens the ticket and revokes the voucher with the reason; the army's verify page then refuses
that voucher (no handover form), and the signed list beside the public key names it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from core.db import make_sessionmaker
from core.ed25519_keys import generate_private_key, private_key_pem
from core.users import StaffUser
from distribution.handovers import issue_vouchers, record_dispute
from tests.plugins.handover_world import approve_for_the_army
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.factories import HOME
from tests.support.list_factories import families, make_list

pytestmark = pytest.mark.browser


@dataclass
class DisputeSite:
    base: str
    passwords: dict[str, str]  # demo-army and demo-committee
    code: str  # the disputed voucher's code
    ticket_id: int


def _password(output: str, username: str) -> str:
    found = re.search(rf"{username}\s+(\S+)\s+", output)
    assert found, output
    return found.group(1)


@pytest.fixture
def dispute_site(tmp_path: Path) -> Iterator[DisputeSite]:
    """The demo service; a published, approved list in Chiyah; one voucher sent to the
    committee by demo-army (the officer could not settle who it belongs to)."""
    key = generate_private_key()
    key_file = tmp_path / "voucher-signing-key.pem"
    key_file.write_bytes(private_key_pem(key))
    app, engine, output = demo_service(tmp_path, voucher_signing_key_file=str(key_file))
    db = make_sessionmaker(engine)()
    published = make_list(db, families(db, 2))
    approve_for_the_army(db, published)
    army = db.scalars(select(StaffUser).where(StaffUser.username == "demo-army")).one()
    voucher = issue_vouchers(db, published, HOME, key, "demo-army")[0]
    handover = record_dispute(db, voucher, army, "Two families show this voucher")
    db.commit()
    code, ticket_id = voucher.code, handover.ticket_id
    assert ticket_id is not None
    db.rollback()  # SQLite: an open transaction would hold the write lock
    passwords = {name: _password(output, name) for name in ("demo-army", "demo-committee")}
    with live_server(app) as base:
        yield DisputeSite(base, passwords, code, ticket_id)
    db.close()
    engine.dispose()


def signed_in_page(browser: Browser, site: DisputeSite, username: str, landing: str) -> Page:
    page = browser.new_context().new_page()
    sign_in(page, site.base, username, site.passwords[username], landing)
    return page


def test_the_committee_revokes_a_disputed_voucher_and_the_army_is_refused(
    dispute_site: DisputeSite,
) -> None:
    site = dispute_site
    with chromium() as browser:
        army = signed_in_page(browser, site, "demo-army", "/console/vouchers/verify")
        army.fill("#voucher", site.code)
        army.click("form[action$='/verify'] button[type=submit]")
        assert army.get_attribute("#voucher-status", "data-status") == "disputed"

        committee = signed_in_page(browser, site, "demo-committee", "/hotline")
        committee.goto(f"{site.base}/hotline/tickets/{site.ticket_id}")
        assert committee.get_attribute("#dispute", "data-voucher") == site.code
        committee.fill("#dispute-reason", "The voucher was given to another family")
        committee.click("#dispute-form button[value=revoke]")
        assert committee.get_attribute("#dispute-decision", "data-decision") == "revoke"
        assert "The committee revoked the voucher" in committee.inner_text("#dispute")
        assert committee.locator("#dispute-form").count() == 0

        army.goto(f"{site.base}/console/vouchers/verify")
        army.fill("#voucher", site.code)
        army.click("form[action$='/verify'] button[type=submit]")
        assert army.locator("#revoked").is_visible()
        assert "do not hand over aid" in army.inner_text("#revoked")
        assert army.get_attribute("#voucher-status", "data-status") == "revoked"
        assert army.locator("#valid").count() == 0
        assert army.locator("#handover-form, #refusal-form").count() == 0

        listed = army.request.get(f"{site.base}/vouchers/revoked").text()
        assert re.search(rf"^{site.code} \S+Z dispute$", listed, re.M)
