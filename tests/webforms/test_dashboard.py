"""The dashboard: its figures for hand-built data, each level's scope, and the charts and CSVs
that show them (the CSV holds exactly the numbers the SVG draws)."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.applications import Application
from core.area_counts import NO_AREA, beirut_days
from core.calls import Call, CallStatus
from core.clock import BEIRUT
from core.covid_cases import CaseReport, CaseStatus, Classification
from core.dashboard import ROUND_CHARTS, Chart, chart, dashboard
from core.db import UTCDateTime, make_engine
from core.decisions import Decision, DecisionCategory, DecisionKind
from core.geography import NATIONAL, Area
from core.link_tokens import hash_token
from core.links import Channel, Link, save_page
from core.messages import Message, MessageStatus
from core.needs import NeedsReport
from core.programme import current_programme, set_window
from core.roles import Permission, Role, can
from core.tickets import Ticket, TicketCategory, TicketStatus
from schema import migrate
from tests.support.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
    area,
    load_sample_geography,
    make_user,
)
from tests.support.households import cleaned
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, PLACES
from tests.support.scope_matrix import NO_AREA as UNPLACED
from tests.support.stack import recreate_database
from tests.support.staff_web import sign_in

# Monday 23 November 2026, 10:00 in Beirut (08:00 UTC): the dashboard's "now" in these tests.
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TODAY = NOW.astimezone(BEIRUT).date()
_numbers = itertools.count(1)


@pytest.fixture
def dashboard_round(db: Session, clock: ModuleType) -> Session:
    clock.freeze(NOW)
    load_sample_geography(db)
    set_window(db, NOW - timedelta(days=20), NOW + timedelta(days=10), "test")
    for role, code, name in (
        (Role.MINISTRY, "LB", "ministry"),
        (Role.GOVERNOR, "LB3", "governor"),
        (Role.QAIMAQAM, "LB32", "qaimaqam"),
        (Role.FOCAL_POINT, HOME, "focal"),
        (Role.AGENT, "LB", "agent"),
    ):
        make_user(db, role, code, username=name)
    db.commit()
    return db


def link(
    db: Session,
    place: str | None,
    at: datetime = NOW - timedelta(hours=2),
    channel: Channel = Channel.SMS_LINK,
    **moments: datetime,
) -> Link:
    """A link created `at`, with whichever of opened_at, started_at, used_at are given."""
    n = next(_numbers)
    programme = current_programme(db)
    assert programme is not None, "the test opens a round first"
    made = Link(
        token_hash=hash_token(f"token-{n}"),
        channel=channel,
        programme_id=programme.id,
        phone=f"+9613{n:06d}",
        language="ar",
        draft="{}",
        created_at=at,
        expires_at=at + timedelta(days=7),
        **moments,
    )
    if place is not None:
        made.place_in(area(db, place))
    db.add(made)
    db.flush()
    return made


def application(db: Session, place: str, at: datetime = NOW - timedelta(hours=1)) -> Application:
    used = link(db, place, at - timedelta(minutes=30), used_at=at)
    made = Application(
        reference=f"{next(_numbers):010d}",
        programme_id=used.programme_id,
        link_id=used.id,
        channel=used.channel,
        phone=used.phone or "+9613000000",
        language="ar",
        status="received",
        version=1,
        data="{}",
        submitted_at=at,
    )
    made.place_in(area(db, place))
    db.add(made)
    db.flush()
    return made


def message(
    db: Session, place: str | None, status: MessageStatus, purpose: str = "receipt"
) -> Message:
    made = Message(
        direction="outbound",
        phone="+9613123456",
        body="1766",
        language="ar",
        purpose=purpose,
        status=status,
        created_at=NOW,
    )
    if place is not None:
        made.place_in(area(db, place))
    db.add(made)
    return made


def ticket(db: Session, place: str, status: TicketStatus, due: datetime, **extra: Any) -> None:
    made = Ticket(
        number=f"{next(_numbers):08d}",
        kind="complaint",
        category=extra.get("category", TicketCategory.INFORMATION),
        channel="ivr",
        phone="+9613123456",
        language="ar",
        status=status,
        created_at=due - timedelta(days=3),
        due_at=due,
    )
    made.place_in(area(db, place))
    db.add(made)


def call(db: Session, status: CallStatus, wait: int | None, at: datetime = NOW) -> None:
    queued = (
        at + timedelta(seconds=30) if wait is not None or status is CallStatus.ABANDONED else None
    )
    db.add(
        Call(
            call_sid=f"CA{next(_numbers)}",
            direction="inbound",
            phone="+9613123456",
            language="ar",
            status=status,
            started_at=at,
            queued_at=queued,
            answered_at=queued + timedelta(seconds=wait) if queued and wait is not None else None,
        )
    )


def by_row(db: Session, where: Area, name: Chart) -> dict[str, tuple[int, ...]]:
    numbers = chart(db, where, name, NOW)
    return dict(zip(numbers.rows, numbers.values, strict=True))


# --- the figures ---------------------------------------------------------------------------


def test_links_and_forms_are_counted_by_governorate_with_hotline_links_on_their_own_row(
    dashboard_round: Session,
) -> None:
    db = dashboard_round
    hour = NOW - timedelta(hours=3)
    link(db, HOME)  # sent, never opened
    link(db, HOME, opened_at=hour)
    link(db, HOME, opened_at=hour, started_at=hour)
    link(db, SAME_GOVERNORATE, opened_at=hour, started_at=hour, used_at=hour)
    link(db, ELSEWHERE, channel=Channel.ASSISTED, started_at=hour)  # a form, not a sent link
    link(db, None, channel=Channel.HOTLINE, opened_at=hour)  # asked from 1766: no area
    link(db, HOME, channel=Channel.CORRECTION, opened_at=hour, started_at=hour)  # neither
    application(db, AKKAR)
    db.commit()

    links = by_row(db, NATIONAL, Chart.LINKS)
    assert links == {
        "LB1": (0, 0, 0),  # the assisted form was not sent
        "LB3": (4, 3, 1),  # the correction link is not a form link
        "LB5": (0, 0, 0),
        "LB7": (1, 0, 1),  # the application's own link
        NO_AREA: (1, 1, 0),
    }
    forms = by_row(db, NATIONAL, Chart.FORMS)
    assert forms["LB3"] == (2, 0)  # started twice; no application there
    assert forms["LB1"] == (1, 0)  # the assisted form
    assert forms["LB7"] == (0, 1)


def test_saving_the_first_page_of_a_form_marks_it_started_once(dashboard_round: Session) -> None:
    db = dashboard_round
    made = link(db, HOME)
    assert made.started_at is None
    save_page(made, "personal", cleaned(1)["personal"])
    first = made.started_at
    assert first is not None
    save_page(made, "family", cleaned(1)["family"])
    assert made.started_at == first
    db.commit()
    assert by_row(db, area(db, HOME), Chart.FORMS) == {HOME: (1, 0)}


def test_daily_counts_fall_on_beirut_days(dashboard_round: Session) -> None:
    db = dashboard_round
    days = beirut_days(TODAY)
    first_start = days[0][1]
    # 23:30 UTC on the 21st is 01:30 on the 22nd in Beirut: it counts for the 22nd.
    late = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    link(db, HOME, at=late)
    application(db, HOME, at=late)  # its own link too, half an hour earlier: the 22nd as well
    link(db, HOME, at=first_start)  # the first instant of the window
    link(db, HOME, at=first_start - timedelta(seconds=1))  # just before: not shown
    link(db, HOME, at=NOW)
    db.commit()

    daily = by_row(db, NATIONAL, Chart.DAILY)
    assert list(daily) == [(TODAY - timedelta(days=13 - n)).isoformat() for n in range(14)]
    assert daily["2026-11-22"] == (2, 1)
    assert daily[days[0][0].isoformat()] == (1, 0)
    assert daily[TODAY.isoformat()] == (1, 0)
    assert sum(sent for sent, _done in daily.values()) == 4


def test_the_delivery_rate_counts_only_acknowledgements_handed_to_the_gateway(
    dashboard_round: Session,
) -> None:
    db = dashboard_round
    for status in (MessageStatus.DELIVERED,) * 3 + (
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.PENDING,  # still owed: neither sent nor delivered
    ):
        message(db, HOME, status)
    message(db, HOME, MessageStatus.DELIVERED, purpose="form_link")  # not an acknowledgement
    db.commit()
    board = dashboard(db, NATIONAL, NOW)
    acks = board.charts[Chart.ACKNOWLEDGEMENTS]
    assert (acks.total("sent"), acks.total("delivered")) == (5, 3)
    assert board.rate(acks.total("delivered"), acks.total("sent")) == pytest.approx(0.6)


def test_complaints_are_open_until_decided_and_overdue_once_their_deadline_passed(
    dashboard_round: Session,
) -> None:
    db = dashboard_round
    ticket(db, HOME, TicketStatus.OPEN, NOW + timedelta(hours=1))
    ticket(db, HOME, TicketStatus.IN_PROGRESS, NOW - timedelta(hours=1))  # overdue
    ticket(db, HOME, TicketStatus.OPEN, NOW)  # due this instant: overdue, as Ticket says
    ticket(db, HOME, TicketStatus.RESOLVED, NOW - timedelta(days=1))  # decided: neither
    ticket(db, HOME, TicketStatus.OPEN, NOW - timedelta(days=1), category=TicketCategory.MISCONDUCT)
    db.commit()
    assert by_row(db, NATIONAL, Chart.COMPLAINTS)["LB3"] == (4, 3)
    # The municipality's own count leaves misconduct out, as its list of complaints does.
    assert by_row(db, area(db, HOME), Chart.COMPLAINTS) == {HOME: (3, 2)}
    # An hour later the first one is overdue too.
    later = chart(db, NATIONAL, Chart.COMPLAINTS, NOW + timedelta(hours=2))
    assert later.total("overdue") == 4


def test_calls_abandoned_and_time_in_queue(dashboard_round: Session) -> None:
    db = dashboard_round
    for wait in range(10, 101, 10):  # ten answered calls waiting 10 s .. 100 s
        call(db, CallStatus.COMPLETED, wait)
    call(db, CallStatus.ABANDONED, None)
    call(db, CallStatus.ABANDONED, None, at=NOW - timedelta(days=1))
    call(db, CallStatus.COMPLETED, None)  # ended in the voice menu, never queued
    call(db, CallStatus.COMPLETED, 999, at=NOW - timedelta(days=20))  # before the 14 days
    db.commit()
    board = dashboard(db, NATIONAL, NOW)
    calls = board.charts[Chart.CALLS]
    assert (calls.total("calls"), calls.total("abandoned")) == (13, 2)
    answered, mean, p90 = board.waits
    assert answered == 10
    assert mean == pytest.approx(55.0)
    assert p90 == pytest.approx(90.0)  # nearest rank: the 9th of 10
    # Calls carry no area: a qaimaqam's dashboard has none of them.
    assert dashboard(db, area(db, "LB32"), NOW).waits == (0, None, None)


def case(db: Session, place: str, classification: Classification, status: CaseStatus) -> None:
    made = CaseReport(
        number=f"{next(_numbers):010d}",
        classification=classification,
        resident_group="lebanese",
        age_band="20-39",
        sex="female",
        isolation_place="home",
        status=status,
        reported_on=TODAY,
        reported_at=NOW,
    )
    made.place_in(area(db, place))
    db.add(made)


def decision(
    db: Session,
    place: str | None,
    category: DecisionCategory,
    start: date = TODAY,
    until: date | None = None,
) -> None:
    kind = DecisionKind.MUNICIPAL if place else DecisionKind.CIRCULAR
    made = Decision(
        kind=kind,
        category=category,
        title="t",
        text="t",
        effective_from=start,
        effective_until=until,
        issuer="x",
    )
    if place:
        made.place_in(area(db, place))
    db.add(made)


def needs(db: Session, place: str, week: date, food: int, kits: int) -> None:
    made = NeedsReport(week_start=week, food_parcels=food, hygiene_kits=kits)
    made.place_in(area(db, place))
    db.add(made)


MONDAY = TODAY  # NOW is a Monday: the dashboard's week starts on it


def test_cases_decisions_and_needs(dashboard_round: Session) -> None:
    db = dashboard_round
    case(db, HOME, Classification.CONFIRMED, CaseStatus.ACTIVE)
    case(db, HOME, Classification.SUSPECTED, CaseStatus.ACTIVE)
    case(db, SAME_DISTRICT, Classification.CONFIRMED, CaseStatus.ACTIVE)
    case(db, HOME, Classification.CONFIRMED, CaseStatus.CLOSED)
    decision(db, HOME, DecisionCategory.CURFEW)
    decision(db, HOME, DecisionCategory.CURFEW, TODAY - timedelta(days=9), TODAY)  # ends today
    decision(db, HOME, DecisionCategory.AID, TODAY + timedelta(days=1))  # from tomorrow
    yesterday = TODAY - timedelta(days=1)
    decision(db, HOME, DecisionCategory.CLOSURE, TODAY - timedelta(days=5), yesterday)
    decision(db, AKKAR, DecisionCategory.QUARANTINE)  # another district's
    decision(db, None, DecisionCategory.OTHER)  # a ministry's circular
    needs(db, HOME, MONDAY, 120, 30)
    needs(db, SAME_DISTRICT, MONDAY, 80, 10)
    needs(db, ELSEWHERE, MONDAY, 5, 5)
    needs(db, HOME, MONDAY - timedelta(days=7), 999, 999)  # last week's
    db.commit()

    baabda = area(db, "LB32")
    assert by_row(db, baabda, Chart.CASES) == {HOME: (1, 1), SAME_DISTRICT: (1, 0)}
    assert by_row(db, baabda, Chart.DECISIONS) == {
        "curfew": (2,),
        "closure": (0,),
        "aid": (0,),
        "quarantine": (0,),
        "other": (0,),
    }
    qaimaqam = dashboard(db, baabda, NOW)
    assert qaimaqam.circulars == 1  # published to everyone
    asked = qaimaqam.charts[Chart.NEEDS]
    assert (asked.total("food_parcels"), asked.total("hygiene_kits")) == (200, 40)
    assert (qaimaqam.filed, qaimaqam.week_start) == (2, MONDAY)
    assert qaimaqam.municipalities == 2  # the sample geography's two localities of Baabda


def test_sms_not_delivered_after_every_try_are_counted_by_area(dashboard_round: Session) -> None:
    db = dashboard_round
    message(db, HOME, MessageStatus.UNDELIVERED, "ticket")
    message(db, HOME, MessageStatus.FAILED)  # refused by the gateway
    tried = message(db, HOME, MessageStatus.UNDELIVERED)
    db.flush()
    again = message(db, HOME, MessageStatus.UNDELIVERED)  # its new try: failed too, the last
    again.resend_of = tried.id
    waiting = message(db, SAME_DISTRICT, MessageStatus.UNDELIVERED)  # tried again later
    db.flush()
    message(db, SAME_DISTRICT, MessageStatus.PENDING).resend_of = waiting.id
    message(db, SAME_DISTRICT, MessageStatus.FAILED, "status")
    message(db, SAME_GOVERNORATE, MessageStatus.DELIVERED)
    message(db, SAME_GOVERNORATE, MessageStatus.SUPPRESSED)  # withheld (STOP): never sent
    message(db, AKKAR, MessageStatus.FAILED)
    message(db, None, MessageStatus.UNDELIVERED, "form_link")  # asked from 1766: no area
    db.commit()

    national = by_row(db, NATIONAL, Chart.UNDELIVERED)
    assert (national["LB3"], national["LB7"], national[NO_AREA]) == ((4,), (1,), (1,))
    assert sum(count for (count,) in national.values()) == 6
    assert by_row(db, area(db, "LB3"), Chart.UNDELIVERED) == {"LB32": (4,), "LB36": (0,)}
    assert by_row(db, area(db, "LB32"), Chart.UNDELIVERED) == {HOME: (3,), SAME_DISTRICT: (1,)}
    assert by_row(db, area(db, HOME), Chart.UNDELIVERED) == {HOME: (3,)}
    assert by_row(db, area(db, "LB7"), Chart.UNDELIVERED) == {"LB51": (1,)}


# The sample places inside each account area of the scope matrix (a dashboard counts what is
# in its area, whoever looks: the ministry of health's national figures are the country's).
_IN_AREA = {
    code: seen
    for role, code, seen in MATRIX
    if role in (Role.FOCAL_POINT, Role.QAIMAQAM, Role.GOVERNOR, Role.MINISTRY)
}
_REPORTERS = [
    (row, name)
    for row, name in zip(MATRIX, MATRIX_IDS, strict=True)
    if can(row[0], Permission.VIEW_REPORTS)
]


@pytest.mark.parametrize(
    ("role", "area_code", "seen"), [r for r, _ in _REPORTERS], ids=[n for _, n in _REPORTERS]
)
def test_each_viewer_counts_the_undelivered_sms_of_its_own_area_only(
    dashboard_round: Session, role: Role, area_code: str, seen: set[str]
) -> None:
    db = dashboard_round
    for place in PLACES:
        message(db, None if place == UNPLACED else place, MessageStatus.UNDELIVERED, "ticket")
    viewer = make_user(db, role, area_code, username=f"viewer-{role.value}")
    db.commit()
    counted = chart(db, viewer.area, Chart.UNDELIVERED, NOW).total("undelivered")
    assert counted == len(_IN_AREA[area_code])


# --- scope -------------------------------------------------------------------------------


@pytest.fixture
def spread(dashboard_round: Session) -> Session:
    """In each sample place: a sent link, an application, an open complaint, an acknowledgement,
    an active case, a decision and this week's needs; and two calls to 1766."""
    for n, place in enumerate((HOME, SAME_DISTRICT, SAME_GOVERNORATE, ELSEWHERE, AKKAR)):
        link(dashboard_round, place)
        application(dashboard_round, place)
        ticket(dashboard_round, place, TicketStatus.OPEN, NOW + timedelta(days=n - 2))
        message(dashboard_round, place, (MessageStatus.DELIVERED, MessageStatus.SENT)[n % 2])
        case(
            dashboard_round,
            place,
            (Classification.CONFIRMED, Classification.SUSPECTED)[n % 2],
            CaseStatus.ACTIVE,
        )
        decision(dashboard_round, place, list(DecisionCategory)[n])
        needs(dashboard_round, place, MONDAY, 10 * (n + 1), n + 1)
    message(dashboard_round, AKKAR, MessageStatus.UNDELIVERED, purpose="ticket")
    call(dashboard_round, CallStatus.COMPLETED, 45)
    call(dashboard_round, CallStatus.ABANDONED, None, at=NOW - timedelta(days=2))
    dashboard_round.commit()
    return dashboard_round


def test_a_qaimaqam_counts_the_municipalities_of_its_district_only(spread: Session) -> None:
    board = dashboard(spread, area(spread, "LB32"), NOW)
    forms = board.charts[Chart.FORMS]
    assert forms.rows == (HOME, SAME_DISTRICT)
    assert forms.total("completed") == 2
    assert board.charts[Chart.LINKS].total("sent") == 2 + 2  # and each application's own link
    assert board.charts[Chart.COMPLAINTS].total("open") == 2


def test_a_governor_counts_its_governorate_by_district(spread: Session) -> None:
    board = dashboard(spread, area(spread, "LB3"), NOW)
    forms = dict(zip(board.charts[Chart.FORMS].rows, board.charts[Chart.FORMS].values, strict=True))
    assert forms == {"LB32": (0, 2), "LB36": (0, 1)}


def test_the_ministry_counts_the_whole_country(spread: Session) -> None:
    board = dashboard(spread, NATIONAL, NOW)
    assert board.charts[Chart.FORMS].total("completed") == 5
    assert board.charts[Chart.COMPLAINTS].total("open") == 5
    assert dict(zip(board.charts[Chart.FORMS].rows, board.charts[Chart.FORMS].values, strict=True))[
        "LB3"
    ] == (0, 3)


# --- the pages -----------------------------------------------------------------------------


def signed_in(client: FlaskClient, username: str) -> FlaskClient:
    sign_in(client, username)
    client.get("/language/en")
    return client


def svg_bars(html: str, name: str) -> dict[tuple[str, str], tuple[int, str]]:
    """(row, series) -> (data-value, the number written beside the bar) of one chart's SVG."""
    found = re.search(rf'<svg[^>]*id="chart-{name}".*?</svg>', html, re.S)
    assert found, f"no chart {name}"
    root = ElementTree.fromstring(found.group(0))  # well-formed XML, every text escaped
    ns = {"svg": "http://www.w3.org/2000/svg"}
    bars = {}
    for bar in root.iterfind(".//svg:g[@class='bar']", ns):
        text = bar.find("svg:text", ns)
        assert text is not None
        bars[(bar.attrib["data-row"], bar.attrib["data-series"])] = (
            int(bar.attrib["data-value"]),
            text.text or "",
        )
    return bars


def csv_rows(client: FlaskClient, name: str) -> list[list[str]]:
    response = client.get(f"/console/dashboard/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.parametrize("name", [c.value for c in Chart])
def test_each_chart_csv_holds_exactly_the_numbers_its_svg_draws(
    client: FlaskClient, spread: Session, name: str
) -> None:
    signed_in(client, "ministry")
    html = client.get("/console/dashboard").get_data(as_text=True)
    bars = svg_bars(html, name)
    header, *rows = csv_rows(client, name)
    assert header[:2] == {
        "daily": ["Date", "Day"],
        "calls": ["Date", "Day"],
        "decisions": ["Category code", "Category"],
    }.get(name, ["Area code", "Area"])
    series = sorted({s for _row, s in bars}, key=[s for _r, s in bars].index)
    of_round = Chart(name) in ROUND_CHARTS  # a last column says which round it counts
    assert len(header) == 2 + len(series) + of_round
    if of_round:
        assert header[-1] == "Round" and {row[-1] for row in rows} == {"impact-2020"}
    from_csv = {
        (row[0], key): int(value)
        for row in rows
        for key, value in zip(series, row[2 : 2 + len(series)], strict=True)
    }
    assert from_csv == {key: value for key, (value, _text) in bars.items()}
    assert any(from_csv.values())  # something was drawn
    # And the number written beside each bar is that value, as the reader's language writes it.
    assert all(text.replace(",", "") == str(value) for value, text in bars.values())


def test_the_ministry_sees_a_bar_per_governorate_and_the_headline_figures(
    client: FlaskClient, spread: Session
) -> None:
    html = signed_in(client, "ministry").get("/console/dashboard").get_data(as_text=True)
    bars = svg_bars(html, "forms")
    assert {row for row, _s in bars} == {"LB1", "LB3", "LB5", "LB7"}  # + no-area row: empty
    assert 'data-figure="forms_completed">5<' in html
    assert 'data-figure="undelivered">1<' in html  # Akkar's ticket number reached no phone
    assert "Mount Lebanon" in html


def test_a_qaimaqam_sees_the_municipalities_of_its_district_by_name(
    client: FlaskClient, spread: Session
) -> None:
    html = signed_in(client, "qaimaqam").get("/console/dashboard").get_data(as_text=True)
    assert {row for row, _s in svg_bars(html, "forms")} == {HOME, SAME_DISTRICT}
    assert "Chiyah" in html and "Halba" not in html
    assert 'data-figure="forms_completed">2<' in html
    assert 'data-figure="undelivered">0<' in html  # Akkar's failure is not the district's


def test_the_page_is_in_arabic_right_to_left_by_default(
    client: FlaskClient, spread: Session
) -> None:
    sign_in(client, "ministry")
    html = client.get("/console/dashboard").get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert "جبل لبنان" in html  # the governorate's Arabic name labels its bars
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_names_are_escaped_in_the_charts(client: FlaskClient, spread: Session) -> None:
    from core.geography import Governorate

    spread.get_one(Governorate, "LB3").name_en = 'Mount <script>alert("x")</script> & co'
    spread.commit()
    html = signed_in(client, "ministry").get("/console/dashboard").get_data(as_text=True)
    assert "<script>" not in html
    assert "Mount &lt;script&gt;" in html
    svg_bars(html, "forms")  # still well-formed


@pytest.mark.parametrize("username", ["agent"])
def test_roles_without_reports_are_refused(
    client: FlaskClient, dashboard_round: Session, username: str
) -> None:
    signed_in(client, username)
    assert client.get("/console/dashboard").status_code == 403
    assert client.get("/console/dashboard/links.csv").status_code == 403


def test_an_unknown_chart_is_not_found(client: FlaskClient, dashboard_round: Session) -> None:
    signed_in(client, "ministry")
    assert client.get("/console/dashboard/salaries.csv").status_code == 404


# --- the migration -------------------------------------------------------------------------


def test_the_migration_gives_stored_links_and_applications_their_beirut_day(
    engine: Engine, tmp_path: Path
) -> None:
    """Rows stored before 0009 get the Beirut day of their time (01:30 in Beirut on the 22nd
    is 23:30 UTC on the 21st), on each database."""
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path}/before-0009.sqlite3"
    else:
        name = f"{engine.url.database}_0009"
        url = recreate_database(engine.url.render_as_string(hide_password=False), name)
    store = make_engine(url)
    try:
        migrate.upgrade(store, "0008")
        late = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
        with store.begin() as conn:
            _rows_before_0009(conn, late)
        migrate.upgrade(store)
        with store.connect() as conn:
            days = conn.execute(
                sa.select(sa.column("created_on", sa.Date)).select_from(sa.table("links"))
            ).scalars()
            submitted = conn.execute(
                sa.select(sa.column("submitted_on", sa.Date)).select_from(sa.table("applications"))
            ).scalars()
            assert [*days, *submitted] == [date(2026, 11, 22)] * 2
    finally:
        store.dispose()


def _rows_before_0009(conn: Any, at: datetime) -> None:
    moment = UTCDateTime()
    programmes = sa.table(
        "programmes",
        sa.column("id"),
        sa.column("code"),
        sa.column("opens_at", moment),
        sa.column("closes_at", moment),
    )
    conn.execute(
        sa.insert(programmes).values(id=1, code="r", opens_at=at, closes_at=at + timedelta(days=1))
    )
    links = sa.table(
        "links",
        *(sa.column(c) for c in ("id", "token_hash", "channel", "programme_id", "language")),
        sa.column("draft"),
        sa.column("created_at", moment),
        sa.column("expires_at", moment),
    )
    conn.execute(
        sa.insert(links).values(
            id=1,
            token_hash="x" * 64,
            channel="hotline",
            programme_id=1,
            language="ar",
            draft="{}",
            created_at=at,
            expires_at=at + timedelta(days=7),
        )
    )
    applications = sa.table(
        "applications",
        *(sa.column(c) for c in ("reference", "programme_id", "link_id", "channel", "phone")),
        *(sa.column(c) for c in ("language", "status", "version", "data")),
        sa.column("submitted_at", moment),
    )
    conn.execute(
        sa.insert(applications).values(
            reference="1" * 10,
            programme_id=1,
            link_id=1,
            channel="hotline",
            phone="+9613123456",
            language="ar",
            status="received",
            version=1,
            data="{}",
            submitted_at=at,
        )
    )


def test_a_csv_is_named_for_beirut_s_day(
    client: FlaskClient, spread: Session, clock: ModuleType
) -> None:
    """At 23:30 UTC it is already the next day in Beirut: the file carries Beirut's date."""
    evening = clock.now().astimezone(UTC).replace(hour=23, minute=30, second=0, microsecond=0)
    clock.freeze(evening)
    signed_in(client, "ministry")
    response = client.get("/console/dashboard/forms.csv")
    beirut_day = clock.beirut_today().isoformat()
    assert beirut_day != evening.date().isoformat()
    assert f"dashboard-forms-LB-{beirut_day}.csv" in response.headers["Content-Disposition"]
