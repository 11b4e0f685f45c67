"""In a real headless Chromium, without JavaScript, on a phone-sized screen: a family types its
reference in Arabic-Indic digits on `/status`, receives the code by SMS (the fake Twilio), types
it, and reads its status with the voucher's code and QR code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import make_sessionmaker
from core.digits import ARABIC_INDIC
from core.ed25519_keys import generate_private_key, private_key_pem
from core.references import grouped
from core.settings import SmsBackend
from distribution.handovers import Voucher, issue_vouchers
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.browser import chromium, demo_service, live_server
from tests.support.factories import HOME
from tests.support.list_factories import families, make_list
from tests.support.status_page import last_code

pytestmark = pytest.mark.browser


@pytest.fixture
def status_site(tmp_path: Path, fake_twilio: FakeTwilio) -> Iterator[tuple[str, str, str, str]]:
    """The demo service on the fake Twilio, with one family selected on a published list and
    its voucher issued: the site's address, the family's reference, phone and voucher code."""
    key = generate_private_key()
    key_file = tmp_path / "voucher-signing-key.pem"
    key_file.write_bytes(private_key_pem(key))
    app, engine, _output = demo_service(
        tmp_path,
        voucher_signing_key_file=str(key_file),
        sms_backend=SmsBackend.TWILIO,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number="+15005550006",
        twilio_api_base_url=fake_twilio.url,
    )
    with make_sessionmaker(engine)() as db:
        family = families(db, 1)[0]
        published = make_list(db, [family])
        issue_vouchers(db, published, HOME, key, "army")
        db.commit()
        voucher = db.scalars(select(Voucher)).one()
        found = (family.reference, family.phone, voucher.code)
    with live_server(app) as base:
        yield base, *found
    engine.dispose()


def test_a_family_checks_its_status_with_the_texted_code_and_sees_its_voucher(
    status_site: tuple[str, str, str, str], fake_twilio: FakeTwilio
) -> None:
    base, reference, phone, voucher_code = status_site
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": 360, "height": 640}, java_script_enabled=False
        )
        page = context.new_page()
        page.goto(f"{base}/status")
        assert page.get_attribute("html", "dir") == "rtl"  # Arabic first
        typed = "".join(ARABIC_INDIC[int(d)] for d in reference)
        page.fill("#reference-input", f"{typed[:3]} {typed[3:6]} {typed[6:]}")
        page.click("#reference-form button[type=submit]")
        assert page.locator("#code-form").is_visible()

        page.fill("#code", last_code(fake_twilio, phone))
        page.click("#code-form button[type=submit]")

        assert page.get_attribute("#status-page", "data-step") == "status"
        assert page.inner_text("#reference") == grouped(reference)
        assert page.inner_text("#check-digit") == reference[-1]
        assert page.inner_text("#voucher-code") == grouped(voucher_code)
        assert page.locator("#voucher-qr svg path").count() == 1
        assert page.locator("#voucher-qr svg").bounding_box() is not None
        assert page.locator("#next li").count() == 3

        page.emulate_media(media="print")  # on paper: the reference, check digit and day stay
        for kept in ("#reference", "#check-digit", "#shown-on", "#voucher-code", "#voucher-qr"):
            assert page.locator(kept).is_visible(), kept
        assert not page.locator("header").is_visible()  # no language links on paper
        page.emulate_media(media="screen")

        page.click("a[hreflang=en]")  # the language links work without JavaScript
        assert page.get_attribute("html", "dir") == "ltr"
        assert "Type your application's reference" in page.inner_text("main")
        context.close()
