"""`/console/staff-work` and its CSV: each account's work per Beirut day, for the roles that
follow it and within their area; bad date ranges are refused clearly, counting nothing."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.links import Channel, Link
from core.programme import set_window
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import AKKAR, HOME, SAME_DISTRICT, load_sample_geography
from tests.support.quick_accounts import account
from tests.support.staff_web import signed_in

# Tuesday 1 December 2026, 10:00 in Beirut (UTC+2): "today" for every page of these tests.
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
_tokens = itertools.count(1)

ACCOUNTS = {
    "focal-sw": (Role.FOCAL_POINT, HOME),
    "mukhtar-sw": (Role.MUKHTAR, HOME),
    "focal-door": (Role.FOCAL_POINT, SAME_DISTRICT),
    "focal-halba": (Role.FOCAL_POINT, AKKAR),
    "qaimaqam-sw": (Role.QAIMAQAM, "LB32"),
    "governor-sw": (Role.GOVERNOR, "LB3"),
    "ministry-sw": (Role.MINISTRY, "LB"),
    "inspector-sw": (Role.INSPECTOR, "LB"),
    "agent-sw": (Role.AGENT, "LB"),
    "admin-sw": (Role.ADMIN, "LB"),
}


@pytest.fixture
def staff(db: Session, clock: ModuleType) -> dict[str, StaffUser]:
    """Every account, and some work: the mukhtar sent 2 links and filled 1 form yesterday
    evening (Beirut) and 1 link today; Halba's focal point sent 1 link today."""
    clock.freeze(NOW)
    load_sample_geography(db, (HOME, SAME_DISTRICT, AKKAR))
    programme = set_window(db, NOW - timedelta(days=30), NOW + timedelta(days=30), "test").id
    users = {name: account(db, name, *where) for name, where in ACCOUNTS.items()}
    clock.freeze(datetime(2026, 11, 30, 21, 30, tzinfo=UTC))  # 23:30 in Beirut, 30 November
    for _ in range(2):
        _link(db, programme, users["mukhtar-sw"], Channel.SMS_LINK)
    _form(db, programme, users["mukhtar-sw"])
    clock.freeze(NOW)
    _link(db, programme, users["mukhtar-sw"], Channel.SMS_LINK)
    _link(db, programme, users["focal-halba"], Channel.SMS_LINK)
    db.commit()
    return users


def _link(db: Session, programme: int, sender: StaffUser, channel: Channel) -> Link:
    made = Link(
        token_hash=f"{next(_tokens):064d}",
        channel=channel,
        programme_id=programme,
        sender_id=sender.id,
        phone="+9613123456",
        expires_at=NOW + timedelta(days=30),
    )
    made.place_in(sender.area)
    db.add(made)
    db.flush()
    return made


def _form(db: Session, programme: int, user: StaffUser) -> None:
    assisted = _link(db, programme, user, Channel.ASSISTED)
    application = Application(
        reference=f"{assisted.id:010d}",
        programme_id=programme,
        link_id=assisted.id,
        channel=Channel.ASSISTED,
        entered_by_id=user.id,
        phone="+9613123456",
        status="received",
        data="{}",
    )
    application.place_in(user.area)
    db.add(application)
    db.flush()  # stamped now, by the service clock


def rows_of(page: str) -> list[tuple[str, str, str, str, str]]:
    """Each table row: account, day, forms, links, corrections."""
    return re.findall(
        r'data-account="([^"]+)" data-day="([^"]+)">.*?<td class="forms">(\d+)</td>'
        r'<td class="links">(\d+)</td><td class="corrections">(\d+)</td>',
        page,
    )


def test_the_ministry_sees_each_account_per_beirut_day(
    client: FlaskClient, db: Session, staff: dict[str, StaffUser]
) -> None:
    home = signed_in(client, "ministry-sw").get("/console").get_data(as_text=True)
    assert 'href="/console/staff-work" id="staff-work-link"' in home

    page = client.get("/console/staff-work").get_data(as_text=True)

    assert 'value="2026-11-25"' in page and 'value="2026-12-01"' in page  # the last 7 days
    assert rows_of(page) == [
        ("focal-halba", "2026-12-01", "0", "1", "0"),
        ("mukhtar-sw", "2026-11-30", "1", "2", "0"),  # 23:30 in Beirut: still the 30th
        ("mukhtar-sw", "2026-12-01", "0", "1", "0"),
    ]
    assert "Mukhtar" in page and "Nov 30, 2026" in page
    areas = re.findall(r'<td class="area">([^<]+) <small', page)
    assert areas == ["Halba", "Chiyah", "Chiyah"]
    client.get("/language/ar")
    arabic = client.get("/console/staff-work").get_data(as_text=True)
    assert re.findall(r'<td class="area">([^<]+) <small', arabic)[0] == "حلبا"
    client.get("/language/en")
    only_today = client.get("/console/staff-work?from=2026-12-01&to=2026-12-01")
    assert [r[:2] for r in rows_of(only_today.get_data(as_text=True))] == [
        ("focal-halba", "2026-12-01"),
        ("mukhtar-sw", "2026-12-01"),
    ]


@pytest.mark.parametrize(
    ("username", "accounts"),
    [
        ("focal-sw", {"mukhtar-sw"}),  # its municipality's accounts
        ("focal-door", set()),  # the same district, another municipality
        ("qaimaqam-sw", {"mukhtar-sw"}),
        ("governor-sw", {"mukhtar-sw"}),
        ("inspector-sw", {"mukhtar-sw", "focal-halba"}),
    ],
)
def test_each_level_sees_the_accounts_of_its_area(
    client: FlaskClient,
    db: Session,
    staff: dict[str, StaffUser],
    username: str,
    accounts: set[str],
) -> None:
    page = signed_in(client, username).get("/console/staff-work").get_data(as_text=True)
    assert {row[0] for row in rows_of(page)} == accounts
    if not accounts:
        assert 'id="no-work"' in page


@pytest.mark.parametrize("username", ["mukhtar-sw", "agent-sw", "admin-sw"])
def test_roles_that_do_not_follow_staff_work_are_refused(
    client: FlaskClient, db: Session, staff: dict[str, StaffUser], username: str
) -> None:
    signed_in(client, username)
    assert 'id="staff-work-link"' not in client.get("/console").get_data(as_text=True)
    assert client.get("/console/staff-work").status_code == 403
    assert client.get("/console/staff-work.csv").status_code == 403


def test_the_pages_need_a_sign_in(client: FlaskClient) -> None:
    for path in ("/console/staff-work", "/console/staff-work.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-12-05&to=2026-12-01", "from", "The first day is after the last day."),
        ("from=2026-02-30", "from", "Enter a date as YYYY-MM-DD"),
        ("to=1%2F12%2F2026", "to", "Enter a date as YYYY-MM-DD"),
        ("from=%3Cscript%3E", "from", "Enter a date as YYYY-MM-DD"),
        ("from=" + "9" * 5000, "from", "Enter a date as YYYY-MM-DD"),
        ("from=2026-08-31&to=2026-12-01", "from", "Choose at most 92 days at a time."),
    ],
)
def test_bad_ranges_are_refused_clearly(
    client: FlaskClient,
    db: Session,
    staff: dict[str, StaffUser],
    query: str,
    field: str,
    message: str,
) -> None:
    signed_in(client, "ministry-sw")
    for path in ("/console/staff-work", "/console/staff-work.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        page = response.get_data(as_text=True)
        assert "Nothing was counted" in page
        error = re.search(rf'<p class="error" id="{field}-e">([^<]*)</p>', page)
        assert error and message in error.group(1)
        assert "<script>" not in page and rows_of(page) == []
    client.get("/language/ar")
    arabic = client.get(f"/console/staff-work?{query}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "لم يُحتسب شيء" in arabic


def test_a_quarter_is_accepted(
    client: FlaskClient, db: Session, staff: dict[str, StaffUser]
) -> None:
    signed_in(client, "ministry-sw")
    response = client.get("/console/staff-work?from=2026-09-01&to=2026-12-01")
    assert response.status_code == 200 and len(rows_of(response.get_data(as_text=True))) == 3


def test_the_csv_has_every_row_and_defuses_formulas(
    client: FlaskClient, db: Session, staff: dict[str, StaffUser]
) -> None:
    # A username a spreadsheet would run (none can be made so today; the file must not trust it).
    staff["focal-halba"].username = "=HYPERLINK(1)"
    db.commit()
    signed_in(client, "qaimaqam-sw")
    page = client.get("/console/staff-work?from=2026-11-30&to=2026-12-01").get_data(as_text=True)
    assert 'href="/console/staff-work.csv?from=2026-11-30&amp;to=2026-12-01"' in page
    qaimaqam = client.get("/console/staff-work.csv?from=2026-11-30&to=2026-12-01")
    assert qaimaqam.status_code == 200
    assert qaimaqam.headers["Content-Disposition"].startswith('attachment; filename="staff-work-')
    rows = list(csv.reader(io.StringIO(qaimaqam.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        ["username", "role", "area", "day", "forms_entered", "links_sent", "corrections"],
        ["mukhtar-sw", "mukhtar", HOME, "2026-11-30", "1", "2", "0"],
        ["mukhtar-sw", "mukhtar", HOME, "2026-12-01", "0", "1", "0"],
    ]
    national = signed_in(client, "ministry-sw").get("/console/staff-work.csv")
    lines = list(csv.reader(io.StringIO(national.get_data(as_text=True).lstrip("\ufeff"))))
    assert ["'=HYPERLINK(1)", "focal_point", AKKAR, "2026-12-01", "0", "1", "0"] in lines
    assert db.scalar(select(StaffUser.id).where(StaffUser.username == "=HYPERLINK(1)"))
