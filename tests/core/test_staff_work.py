"""Follow-up of staff work: each account's forms, links and corrections per Beirut day, counted
in the viewer's area only, for a range that is checked before anything is read."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from types import ModuleType

import pytest
from sqlalchemy.orm import Session

from core.applications import Application
from core.corrections import CorrectionRequest
from core.links import Channel, Link
from core.programme import set_window
from core.roles import Permission, Role, can
from core.staff_work import (
    MAX_DAYS,
    Period,
    PeriodProblem,
    PeriodRefused,
    WorkDay,
    area_names,
    period_from,
    staff_work,
)
from core.tickets import TicketCategory, open_ticket
from core.users import StaffUser
from tests.support.factories import HOME, area, load_sample_geography, make_user
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, NO_AREA, PLACES

# 1 December 2026: Beirut is UTC+2 (winter time). Beirut's midnight is 22:00 UTC.
DAY = date(2026, 12, 1)
NOON = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
_tokens = itertools.count(1)


@pytest.fixture
def programme_id(db: Session, clock: ModuleType) -> int:
    clock.freeze(NOON)
    load_sample_geography(db)
    programme = set_window(db, NOON - timedelta(days=30), NOON + timedelta(days=30), "test")
    return programme.id


def link(db: Session, programme_id: int, sender: StaffUser, channel: Channel) -> Link:
    """A link `sender` made now (the service clock's now), in the sender's area."""
    made = Link(
        token_hash=f"{next(_tokens):064d}",
        channel=channel,
        programme_id=programme_id,
        sender_id=sender.id,
        phone="+9613123456",
        expires_at=NOON + timedelta(days=30),
    )
    if sender.area.locality_code:
        made.place_in(sender.area)
    db.add(made)
    db.flush()
    return made


def entered(db: Session, programme_id: int, user: StaffUser) -> Application:
    """A form `user` filled during a call, sent now."""
    assisted = link(db, programme_id, user, Channel.ASSISTED)
    application = Application(
        reference=f"{assisted.id:010d}",
        programme_id=programme_id,
        link_id=assisted.id,
        channel=Channel.ASSISTED,
        entered_by_id=user.id,
        phone="+9613123456",
        status="received",
        data="{}",
    )
    application.place_in(user.area)
    db.add(application)
    db.flush()
    return application


def logged(db: Session, application: Application, agent: StaffUser) -> CorrectionRequest:
    """A correction `agent` logged now to `application`."""
    ticket = open_ticket(
        db,
        phone=application.phone,
        channel="agent",
        language="ar",
        category=TicketCategory.CORRECTION,
        application=application,
    )
    correction = CorrectionRequest(
        ticket_id=ticket.id,
        application_id=application.id,
        base_version=1,
        source="agent",
        changes="[]",
        logged_by_id=agent.id,
    )
    correction.place_in(area(db, application.locality_code or "LB"))
    db.add(correction)
    db.flush()
    return correction


def test_forms_links_and_corrections_are_counted_per_account_and_day(
    db: Session, programme_id: int, clock: ModuleType
) -> None:
    focal = make_user(db, Role.FOCAL_POINT, HOME, "focal-w")
    mukhtar = make_user(db, Role.MUKHTAR, HOME, "mukhtar-w")
    agent = make_user(db, Role.AGENT, "LB", "agent-w")
    ministry = make_user(db, Role.MINISTRY, "LB", "ministry-w")
    first = entered(db, programme_id, focal)
    entered(db, programme_id, focal)
    link(db, programme_id, focal, Channel.SMS_LINK)
    logged(db, first, agent)
    clock.advance(timedelta(days=1))
    for _ in range(3):
        link(db, programme_id, mukhtar, Channel.SMS_LINK)
    logged(db, first, agent)
    logged(db, first, agent)

    rows = staff_work(db, ministry, Period(DAY, DAY + timedelta(days=1)))

    later = DAY + timedelta(days=1)
    assert rows == [
        WorkDay("agent-w", "agent", "LB", DAY, 0, 0, 1),
        WorkDay("agent-w", "agent", "LB", later, 0, 0, 2),
        WorkDay("focal-w", "focal_point", HOME, DAY, 2, 1, 0),  # the assisted links not twice
        WorkDay("mukhtar-w", "mukhtar", HOME, later, 0, 3, 0),
    ]
    assert staff_work(db, ministry, Period(later, later + timedelta(days=5)))[0].day == later


def test_days_are_beirut_days(db: Session, programme_id: int, clock: ModuleType) -> None:
    """21:59 UTC is 23:59 in Beirut, 1 December; 22:01 UTC is already 2 December there."""
    focal = make_user(db, Role.FOCAL_POINT, HOME, "focal-d")
    agent = make_user(db, Role.AGENT, "LB", "agent-d")
    inspector = make_user(db, Role.INSPECTOR, "LB", "inspector-d")
    clock.freeze(datetime(2026, 12, 1, 21, 59, tzinfo=UTC))
    application = entered(db, programme_id, focal)
    link(db, programme_id, focal, Channel.SMS_LINK)
    logged(db, application, agent)
    clock.advance(timedelta(minutes=2))
    entered(db, programme_id, focal)
    logged(db, application, agent)

    rows = staff_work(db, inspector, Period(DAY, DAY + timedelta(days=1)))

    nextday = DAY + timedelta(days=1)
    assert [(r.username, r.day, r.forms, r.links, r.corrections) for r in rows] == [
        ("agent-d", DAY, 0, 0, 1),
        ("agent-d", nextday, 0, 0, 1),
        ("focal-d", DAY, 1, 1, 0),
        ("focal-d", nextday, 1, 0, 0),
    ]
    # The 1st alone ends at Beirut's midnight: the minute after it is not counted.
    only_first = staff_work(db, inspector, Period(DAY, DAY))
    assert {(r.username, r.day) for r in only_first} == {("agent-d", DAY), ("focal-d", DAY)}


def test_the_summer_time_change_keeps_a_25_hour_day_whole(
    db: Session, programme_id: int, clock: ModuleType
) -> None:
    """Beirut leaves summer time at midnight between 24 and 25 October 2026 (the tz database):
    24 October runs 25 hours, from 21:00 UTC on the 23rd to 22:00 UTC on the 24th."""
    agent = make_user(db, Role.AGENT, "LB", "agent-s")
    focal = make_user(db, Role.FOCAL_POINT, HOME, "focal-s")
    application = entered(db, programme_id, focal)
    for moment in (datetime(2026, 10, 23, 21, 0), datetime(2026, 10, 24, 21, 59)):
        clock.freeze(moment.replace(tzinfo=UTC))
        logged(db, application, agent)
    ministry = make_user(db, Role.MINISTRY, "LB", "ministry-s")
    rows = staff_work(db, ministry, Period(date(2026, 10, 23), date(2026, 10, 25)))
    assert [(r.day, r.corrections) for r in rows if r.username == "agent-s"] == [
        (date(2026, 10, 24), 2)
    ]


@pytest.mark.parametrize(("role", "area_code", "expected"), MATRIX, ids=MATRIX_IDS)
def test_each_level_follows_the_accounts_of_its_area(
    db: Session, programme_id: int, role: Role, area_code: str, expected: set[str]
) -> None:
    """A mukhtar in each place sends a link (an agent, for the national accounts)."""
    for place in PLACES:
        worker = (
            make_user(db, Role.AGENT, "LB", f"w-{place}")
            if place == NO_AREA
            else make_user(db, Role.MUKHTAR, place, f"w-{place}")
        )
        link(db, programme_id, worker, Channel.SMS_LINK)
    viewer = make_user(db, role, area_code)

    seen = {row.username[2:] for row in staff_work(db, viewer, Period(DAY, DAY))}

    assert seen == (expected if can(role, Permission.VIEW_STAFF_WORK) else set())


@pytest.mark.parametrize(
    ("first", "last", "problem", "field"),
    [
        ("2026-12-31", "2026-12-01", PeriodProblem.REVERSED, "from"),
        ("2026-02-30", None, PeriodProblem.BAD_DATE, "from"),
        (None, "yesterday", PeriodProblem.BAD_DATE, "to"),
        ("2026-1-1", None, PeriodProblem.BAD_DATE, "from"),
        ("=1+1", None, PeriodProblem.BAD_DATE, "from"),
        (None, "0001-01-01", PeriodProblem.BAD_DATE, "to"),  # a week before it overflowed
        ("9999-12-31", "9999-12-31", PeriodProblem.BAD_DATE, "to"),
        ("2026-08-31", "2026-12-01", PeriodProblem.TOO_LONG, "from"),
    ],
)
def test_bad_ranges_are_refused(
    first: str | None, last: str | None, problem: PeriodProblem, field: str
) -> None:
    with pytest.raises(PeriodRefused) as refused:
        period_from(first, last, DAY)
    assert (refused.value.problem, refused.value.field) == (problem, field)


def test_the_default_range_is_the_last_week_and_a_quarter_is_the_longest() -> None:
    assert period_from(None, None, DAY) == Period(date(2026, 11, 25), DAY)
    assert period_from("", " 2026-11-30 ", DAY) == Period(date(2026, 11, 24), date(2026, 11, 30))
    longest = period_from("2026-09-01", "2026-12-01", DAY)
    assert (longest.last - longest.first).days + 1 == MAX_DAYS


def test_accounts_areas_are_named_at_every_level(db: Session) -> None:
    load_sample_geography(db)
    names = area_names(db, [HOME, "LB32", "LB3", "LB", HOME])
    assert names == {
        HOME: ("Chiyah", "شياح"),
        "LB32": ("Baabda", "بعبدا"),
        "LB3": ("Mount Lebanon", "جبل لبنان"),
    }
