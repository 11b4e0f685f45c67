"""In a real headless Chromium: the ministry signs in and sees the national dashboard, a bar
group per governorate in each chart by area, downloads a chart's CSV, and the file holds the
numbers of the chart's bars."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from core.db import make_sessionmaker, utcnow
from core.link_tokens import hash_token
from core.links import Channel, Link
from core.programme import current_programme
from tests.support.browser import chromium, demo_service, live_server, sign_in
from tests.support.factories import AKKAR, ELSEWHERE, HOME, area

pytestmark = pytest.mark.browser

GOVERNORATES = {f"LB{n}" for n in range(1, 9)}


def texted_links(db: Session) -> None:
    """Links texted by three municipalities in three governorates; some opened, one used."""
    programme = current_programme(db)
    assert programme is not None
    now = utcnow()
    for n, (place, opened, used) in enumerate(
        [
            (HOME, True, True),
            (HOME, True, False),
            (HOME, False, False),
            (AKKAR, True, False),
            (ELSEWHERE, False, False),
        ]
    ):
        link = Link(
            token_hash=hash_token(f"dashboard-{n}"),
            channel=Channel.SMS_LINK,
            programme_id=programme.id,
            phone=f"+96170{n:06d}",
            language="ar",
            draft="{}",
            created_at=now - timedelta(hours=1),
            expires_at=now + timedelta(days=7),
            opened_at=now if opened else None,
            used_at=now if used else None,
        )
        link.place_in(area(db, place))
        db.add(link)
    db.commit()


@pytest.fixture
def ministry_site(tmp_path: Path) -> Iterator[tuple[str, str]]:
    app, engine, output = demo_service(tmp_path)
    password = re.search(r"demo-ministry\s+(\S+)\s+ministry", output)
    assert password, output
    with make_sessionmaker(engine)() as db:
        texted_links(db)
    with live_server(app) as base:
        yield base, password.group(1)
    engine.dispose()


def bars(page: Page, chart: str) -> dict[tuple[str, str], int]:
    found = {}
    for bar in page.locator(f"#chart-{chart} g.bar").all():
        key = (bar.get_attribute("data-row") or "", bar.get_attribute("data-series") or "")
        value = int(bar.get_attribute("data-value") or "-1")
        assert (bar.locator("text.value").text_content() or "").replace(",", "") == str(value)
        found[key] = value
    return found


def test_the_ministry_reads_the_national_dashboard_and_its_csv_matches_the_chart(
    ministry_site: tuple[str, str], tmp_path: Path
) -> None:
    base, password = ministry_site
    with chromium() as browser:
        page = browser.new_page(accept_downloads=True, viewport={"width": 1100, "height": 900})
        sign_in(page, base, "demo-ministry", password, "/console/dashboard", english=False)
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("#chart-links text.label", has_text="جبل لبنان").count() == 1
        page.click("a[hreflang=en]")

        assert "Dashboard: Lebanon" in page.inner_text("h1")
        assert page.inner_text("[data-figure=links_sent]") == "5"
        drawn = bars(page, "links")
        assert {row for row, _series in drawn} == GOVERNORATES  # a bar group per governorate
        assert drawn[("LB3", "sent")] == 3 and drawn[("LB3", "used")] == 1
        assert drawn[("LB7", "opened")] == 1 and drawn[("LB1", "opened")] == 0
        assert page.locator("#chart-links > title").text_content() == "Form links"
        page.locator("#chart-links text.label", has_text="Mount Lebanon").wait_for()

        with page.expect_download() as download:
            page.click("#links a.csv")
        saved = tmp_path / "links.csv"
        download.value.save_as(saved)
        header, *rows = list(csv.reader(io.StringIO(saved.read_text("utf-8-sig"))))
        # The last column says which round the links belong to (the demo's only round).
        assert header == ["Area code", "Area", "Links sent", "Links opened", "Links used", "Round"]
        assert {row[-1] for row in rows} == {"impact-2020"}
        from_csv = {
            (row[0], series): int(value)
            for row in rows
            for series, value in zip(("sent", "opened", "used"), row[2:5], strict=True)
        }
        assert from_csv == drawn
        assert dict((row[0], row[1]) for row in rows)["LB3"] == "Mount Lebanon"
