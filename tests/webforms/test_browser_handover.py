"""In a real headless Chromium: an army officer signs in, opens a municipality's printable
vouchers and sees their QR codes, checks a voucher, records the handover, and the same voucher
then shows as used and offers no second handover."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_sessionmaker
from core.ed25519_keys import generate_private_key, private_key_pem
from distribution.handovers import Voucher
from tests.plugins.handover_world import approve_for_the_army
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.factories import HOME
from tests.support.list_factories import families, make_list

pytestmark = pytest.mark.browser


@pytest.fixture
def distribution_site(tmp_path: Path) -> Iterator[tuple[str, str, Session, int]]:
    """The demo service with a published, approved list of two families in Chiyah (demo-army's
    area)."""
    key_file = tmp_path / "voucher-signing-key.pem"
    key_file.write_bytes(private_key_pem(generate_private_key()))
    app, engine, output = demo_service(tmp_path, voucher_signing_key_file=str(key_file))
    password = re.search(r"demo-army\s+(\S+)\s+army", output)
    assert password, output
    db = make_sessionmaker(engine)()
    published = make_list(db, families(db, 2))
    approve_for_the_army(db, published)  # the committee's two members (four eyes)
    db.commit()
    with live_server(app) as base:
        yield base, password.group(1), db, published.id
    db.close()
    engine.dispose()


def check(page: Page, typed: str) -> None:
    page.fill("#voucher", typed)
    page.click("form[action$='/verify'] button[type=submit]")


def test_an_officer_prints_checks_and_hands_over_a_voucher_once(
    distribution_site: tuple[str, str, Session, int],
) -> None:
    base, password, db, list_id = distribution_site
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "demo-army", password, "/console/lists")
        page.click(f"tr[data-list='{list_id}'] a")
        page.click(f"tr[data-locality='{HOME}'] button.print-link")  # a POST with its token
        assert page.locator(".voucher").count() == 2
        assert page.locator(".voucher svg path").count() == 2  # each block's QR code
        assert "Public key fingerprint" in page.inner_text("main")

        first = db.scalars(select(Voucher).order_by(Voucher.id)).first()
        assert first is not None
        voucher_id, code, token = first.id, first.code, first.token
        db.rollback()  # SQLite: an open transaction holds the write lock (BEGIN IMMEDIATE)
        page.goto(f"{base}/console/vouchers/verify")
        check(page, token)
        assert page.locator("#valid").is_visible()
        assert page.get_attribute("#voucher-status", "data-status") == "unused"
        assert "علي حسن الخوري" in page.inner_text("#beneficiary")
        page.check("input[name=id_seen]")
        page.check("input[name=signature_obtained]")
        page.click("button[value=handed_over]")
        assert "The voucher is now used" in page.inner_text("#recorded")
        assert page.get_attribute("#voucher-status", "data-status") == "used"

        check(page, code)
        assert page.get_attribute("#voucher-status", "data-status") == "used"
        assert page.locator("#handover-form").count() == 0
        assert page.locator("#history tr[data-outcome=handed_over]").count() == 1

    db.expire_all()
    used = db.get_one(Voucher, voucher_id)
    assert used.used_at is not None
