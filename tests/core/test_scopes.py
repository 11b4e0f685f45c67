"""The scope matrix: every role against records inside and outside its area.

Circular part 2, item 2: no municipality sees another's data; a qaimaqam sees the district's
municipalities, a governor the governorate only. Roles without the permission see nothing.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calls import Call, CallStatus, calls_visible_to
from core.db import Base
from core.messages import Direction, Message, MessageStatus, messages_visible_to
from core.roles import Permission, Role
from core.scopes import AreaScoped, covers, visible
from core.tickets import Ticket
from core.users import StaffUser
from distribution.handovers import Voucher
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
from tests.support.scope_matrix import EVERYWHERE, MATRIX, NO_AREA, PLACES

_sids = itertools.count(1)


def _seed_logs(db: Session) -> None:
    for place in PLACES:
        message = Message(
            direction=Direction.INBOUND,
            phone="+9613123456",
            body=place,
            status=MessageStatus.RECEIVED,
        )
        call = Call(
            call_sid=f"CA{next(_sids):032d}",
            direction=Direction.INBOUND,
            phone="+9613123456",
            status=CallStatus.COMPLETED,
            language=place[:2],
        )
        if place != NO_AREA:
            message.place_in(area(db, place))
            call.place_in(area(db, place))
        db.add_all([message, call])
    db.flush()


def _place(record: Message | Call) -> str:
    return record.locality_code or NO_AREA


@pytest.fixture
def seeded(db: Session) -> Session:
    load_sample_geography(db)
    _seed_logs(db)
    return db


@pytest.mark.parametrize(
    ("role", "area_code", "expected"), MATRIX, ids=[f"{r.value}@{a}" for r, a, _ in MATRIX]
)
def test_message_and_call_logs_are_scoped(
    seeded: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    viewer = make_user(seeded, role, area_code)
    assert {_place(m) for m in messages_visible_to(seeded, viewer)} == expected
    assert {_place(c) for c in calls_visible_to(seeded, viewer)} == expected


@pytest.mark.parametrize(
    ("role", "area_code", "expected"), MATRIX, ids=[f"{r.value}@{a}" for r, a, _ in MATRIX]
)
def test_one_record_check_agrees_with_the_query(
    seeded: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    """A record opened by id (from a URL) obeys the same rule as a list."""
    viewer = make_user(seeded, role, area_code)
    for message in seeded.scalars(select(Message)):
        assert covers(viewer, message, Permission.VIEW_MESSAGES) == (_place(message) in expected)


def test_staff_accounts_are_visible_only_to_account_managers(db: Session) -> None:
    load_sample_geography(db)
    focal = make_user(db, Role.FOCAL_POINT, HOME)
    other = make_user(db, Role.FOCAL_POINT, ELSEWHERE)
    admin = make_user(db, Role.ADMIN, "LB")
    ministry = make_user(db, Role.MINISTRY, "LB")
    stmt = select(StaffUser.username)
    seen_by_admin = set(db.scalars(visible(stmt, admin, StaffUser, Permission.MANAGE_USERS)))
    assert {focal.username, other.username, ministry.username} <= seen_by_admin
    for viewer in (focal, ministry):
        assert list(db.scalars(visible(stmt, viewer, StaffUser, Permission.MANAGE_USERS))) == []


MUNICIPAL = {Role.FOCAL_POINT, Role.MUKHTAR, Role.VOLUNTEER}


def _seed_forms(db: Session) -> None:
    """A link and an application in every place (the form's records of personal data)."""
    from datetime import timedelta

    from core.applications import Application
    from core.db import utcnow
    from core.links import Link
    from core.programme import set_window

    programme = set_window(db, utcnow(), utcnow() + timedelta(days=9), "test")
    sender = make_user(db, Role.ADMIN, "LB")
    for n, place in enumerate(PLACES):
        link = Link(
            token_hash=f"{n:064d}",
            channel="sms_link",
            programme_id=programme.id,
            sender_id=sender.id,
            phone="+9613123456",
            expires_at=programme.closes_at,
        )
        application = Application(
            reference=f"{n:010d}",
            programme_id=programme.id,
            channel="sms_link",
            phone="+9613123456",
            status="received",
            data="{}",
        )
        if place != NO_AREA:
            link.place_in(area(db, place))
            application.place_in(area(db, place))
        db.add(link)
        db.flush()
        application.link_id = link.id
        db.add(application)
    db.flush()


@pytest.mark.parametrize(
    ("role", "area_code", "expected"), MATRIX, ids=[f"{r.value}@{a}" for r, a, _ in MATRIX]
)
def test_links_and_applications_are_scoped(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    from core.applications import applications_visible_to
    from core.links import links_visible_to

    load_sample_geography(db)
    _seed_forms(db)
    viewer = make_user(db, role, area_code)
    places = {a.locality_code or NO_AREA for a in applications_visible_to(db, viewer)}
    assert places == expected  # the same roles read forms as read the message log
    links = {link.locality_code or NO_AREA for link, _ in links_visible_to(db, viewer)}
    assert links == (expected if role in MUNICIPAL else set())


def test_every_record_with_an_area_is_in_the_matrix() -> None:
    """A new kind of personal record must be added to this matrix before it can ship."""
    from core.account_requests import AccountRequest
    from core.applications import Application
    from core.broadcasts import Broadcast
    from core.callback_requests import CallbackRequest
    from core.corrections import CorrectionRequest
    from core.covid_cases import CaseReport, QuarantineCentre
    from core.decisions import Decision
    from core.donations import Donation, DonationAllocation
    from core.flags import ApplicationFlag
    from core.home_visits import SampleVisit
    from core.link_batches import LinkBatch
    from core.links import Link
    from core.needs import NeedsReport

    scoped = {m.class_ for m in Base.registry.mappers if issubclass(m.class_, AreaScoped)}
    assert scoped == {
        Message,
        Call,
        StaffUser,
        Link,
        Application,
        Ticket,
        CallbackRequest,
        CorrectionRequest,
        Voucher,
        CaseReport,
        QuarantineCentre,
        Decision,
        NeedsReport,
        ApplicationFlag,
        SampleVisit,
        AccountRequest,
        Broadcast,  # scoped in tests/core/test_broadcasts.py
        LinkBatch,  # scoped in tests/webforms/test_bulk_links.py
        Donation,  # scoped in tests/core/test_donations.py
        DonationAllocation,  # and tests/webforms/test_donations.py
    }


# Who reads a list's families, and their vouchers: the army for its area, the ministry,
# inspection and the committee (which approves the lists) nationwide; nobody else, whatever
# their area (focal points are told by SMS).
LIST_MATRIX = [
    (Role.ARMY, HOME, {HOME}),
    (Role.ARMY, "LB32", {HOME, SAME_DISTRICT}),
    (Role.ARMY, "LB3", {HOME, SAME_DISTRICT, SAME_GOVERNORATE}),
    (Role.ARMY, "LB7", {AKKAR}),
    (Role.ARMY, "LB", EVERYWHERE - {NO_AREA}),
    (Role.MINISTRY, "LB", EVERYWHERE - {NO_AREA}),
    (Role.INSPECTOR, "LB", EVERYWHERE - {NO_AREA}),
    (Role.FOCAL_POINT, HOME, set()),
    (Role.GOVERNOR, "LB3", set()),
    (Role.AGENT, "LB", set()),
    (Role.COMMITTEE, "LB", EVERYWHERE - {NO_AREA}),
    (Role.ADMIN, "LB", set()),
]


@pytest.mark.parametrize(
    ("role", "area_code", "expected"),
    LIST_MATRIX,
    ids=[f"{r.value}@{a}" for r, a, _ in LIST_MATRIX],
)
def test_list_families_and_vouchers_are_scoped(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    from distribution.queries import municipalities
    from tests.support import list_factories

    load_sample_geography(db)
    list_factories.open_round(db)
    selected = [
        family
        for n, place in enumerate(PLACES[:-1], start=1)
        for family in list_factories.families(db, 1, start=n, area=area(db, place))
    ]
    made = list_factories.make_list(db, selected)
    vouchers = [Voucher(application_id=a.id) for a in selected]
    for voucher, family in zip(vouchers, selected, strict=True):
        voucher.place_in(area(db, family.locality_code or ""))
    viewer = make_user(db, role, area_code)
    seen = {m.code for m in municipalities(db, viewer, made.id)}
    assert seen == expected
    # One voucher opened by code obeys the same rule for the officer who records handovers.
    may_record = {
        v.locality_code for v in vouchers if covers(viewer, v, Permission.RECORD_HANDOVERS)
    }
    assert may_record == (expected if role is Role.ARMY else set())


MUNICIPAL_STAFF = {Role.FOCAL_POINT, Role.MUKHTAR, Role.VOLUNTEER}
# Who reads complaints: the room, the committee, inspection, and each level for its area —
# of a municipality, only the focal point (mukhtars and volunteers help fill forms).
COMPLAINT_READERS = {Role.FOCAL_POINT} | {
    Role.QAIMAQAM,
    Role.GOVERNOR,
    Role.MINISTRY,
    Role.INSPECTOR,
    Role.AGENT,
    Role.COMMITTEE,
}


def _seed_room(db: Session) -> None:
    """In every place: a complaint, a misconduct report, an open and an assigned call-back."""
    from core.callback_requests import CallbackRequest
    from core.tickets import TicketCategory, open_ticket

    load_sample_geography(db)
    for place in PLACES:
        for category in (TicketCategory.OTHER, TicketCategory.MISCONDUCT):
            ticket = open_ticket(
                db, phone="+9613123456", channel="ivr", language="ar", category=category
            )
            if place != NO_AREA:
                ticket.place_in(area(db, place))
        for status in ("open", "assigned"):
            callback = CallbackRequest(phone="+9613123456", language="ar", status=status)
            if place != NO_AREA:
                callback.place_in(area(db, place))
            db.add(callback)
    db.flush()


@pytest.mark.parametrize(
    ("role", "area_code", "expected"), MATRIX, ids=[f"{r.value}@{a}" for r, a, _ in MATRIX]
)
def test_tickets_are_scoped_and_misconduct_is_hidden_from_municipalities(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    from core.tickets import TicketCategory, ticket_for, tickets_visible_to

    _seed_room(db)
    viewer = make_user(db, role, area_code)
    seen = tickets_visible_to(db, viewer)
    wanted = expected if role in COMPLAINT_READERS else set()
    others = {t.locality_code or NO_AREA for t in seen if t.category == TicketCategory.OTHER}
    misconduct = {
        t.locality_code or NO_AREA for t in seen if t.category == TicketCategory.MISCONDUCT
    }
    assert others == wanted
    # Circular: a municipality never reads the reports that may concern its own staff.
    assert misconduct == (set() if role in MUNICIPAL_STAFF else wanted)
    # The same rule for one ticket opened by id (a URL typed by hand).
    every = db.scalars(select(Ticket)).all()
    assert {t.id for t in every if ticket_for(db, viewer, t.id)} == {t.id for t in seen}


@pytest.mark.parametrize(
    ("role", "area_code", "expected"), MATRIX, ids=[f"{r.value}@{a}" for r, a, _ in MATRIX]
)
def test_call_backs_go_to_the_room_and_then_to_the_assigned_municipality(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    from core.callback_requests import CallbackRequest, callback_for, callbacks_visible_to

    _seed_room(db)
    viewer = make_user(db, role, area_code)
    seen = callbacks_visible_to(db, viewer)
    if role is Role.AGENT:
        wanted = {(p, s) for p in expected for s in ("open", "assigned")}
    elif role in MUNICIPAL_STAFF:
        wanted = {(p, "assigned") for p in expected}  # only once the room has assigned it
    else:
        wanted = set()
    assert {(c.locality_code or NO_AREA, c.status) for c in seen} == wanted
    every = db.scalars(select(CallbackRequest)).all()
    assert {c.id for c in every if callback_for(db, viewer, c.id)} == {c.id for c in seen}


@pytest.mark.parametrize(
    ("role", "area_code", "expected"), MATRIX, ids=[f"{r.value}@{a}" for r, a, _ in MATRIX]
)
def test_corrections_are_read_by_the_room_the_committee_and_inspection_only(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    from core.applications import Application
    from core.corrections import CorrectionRequest, correction_for, corrections_visible_to

    _seed_room(db)
    _seed_forms(db)
    ticket = db.scalars(select(Ticket).limit(1)).one()
    for application in db.scalars(select(Application)).all():
        db.add(
            CorrectionRequest(
                ticket_id=ticket.id,
                application_id=application.id,
                base_version=1,
                source="agent",
                changes="[]",
                status="pending",
                governorate_code=application.governorate_code,
                district_code=application.district_code,
                locality_code=application.locality_code,
            )
        )
    db.flush()
    viewer = make_user(db, role, area_code)
    seen = corrections_visible_to(db, viewer)
    readers = {Role.AGENT, Role.COMMITTEE, Role.INSPECTOR}
    assert {c.locality_code or NO_AREA for c in seen} == (expected if role in readers else set())
    every = db.scalars(select(CorrectionRequest)).all()
    assert {c.id for c in every if correction_for(db, viewer, c.id)} == {c.id for c in seen}


# Who reads a municipality's decisions and weekly needs (the reports permission): its focal
# point, its qaimaqam and governor, the national readers. Circulars carry no area and are read
# by everyone (tests/webforms/test_decisions.py); they are not in this matrix.
REPORTS_MATRIX = [
    (Role.FOCAL_POINT, HOME, {HOME}),
    (Role.MUKHTAR, HOME, set()),
    (Role.VOLUNTEER, HOME, set()),
    (Role.QAIMAQAM, "LB32", {HOME, SAME_DISTRICT}),
    (Role.QAIMAQAM, "LB51", {AKKAR}),
    (Role.GOVERNOR, "LB3", {HOME, SAME_DISTRICT, SAME_GOVERNORATE}),
    (Role.GOVERNOR, "LB7", {AKKAR}),
    (Role.MINISTRY, "LB", EVERYWHERE - {NO_AREA}),
    (Role.HEALTH_MINISTRY, "LB", EVERYWHERE - {NO_AREA}),
    (Role.INSPECTOR, "LB", EVERYWHERE - {NO_AREA}),
    (Role.AGENT, "LB", set()),
    (Role.COMMITTEE, "LB", set()),
    (Role.ARMY, "LB3", set()),
    (Role.ADMIN, "LB", set()),
]


@pytest.mark.parametrize(
    ("role", "area_code", "expected"),
    REPORTS_MATRIX,
    ids=[f"{r.value}@{a}" for r, a, _ in REPORTS_MATRIX],
)
def test_decisions_and_needs_reports_are_scoped(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    from datetime import date

    from core.decisions import Decision, DecisionKind, decision_for, decisions_visible_to
    from core.needs import NeedsReport, week_reports

    load_sample_geography(db)
    week = date(2020, 4, 13)
    for place in PLACES[:-1]:
        decision = Decision(
            kind=DecisionKind.MUNICIPAL,
            category="other",
            title=place,
            text=place,
            effective_from=week,
            issuer=place,
        )
        report = NeedsReport(
            week_start=week, food_parcels=0, hygiene_kits=0, quarantine_needs="", other_needs=""
        )
        decision.place_in(area(db, place))
        report.place_in(area(db, place))
        db.add_all([decision, report])
    db.flush()
    viewer = make_user(db, role, area_code)
    assert {d.locality_code for d in decisions_visible_to(db, viewer)} == expected
    assert {r.locality_code for r, _place in week_reports(db, viewer, week)} == expected
    for decision in db.scalars(select(Decision)):
        opened = decision_for(db, viewer, decision.id) is not None
        assert opened == (decision.locality_code in expected)


# Who reads COVID-19 cases (the counts and non-personal fields) and, last column, who reads a
# case's contact details: within the municipality, and the health ministry nationally.
CASE_MATRIX = [
    (Role.FOCAL_POINT, HOME, {HOME}, {HOME}),
    (Role.MUKHTAR, HOME, set(), set()),
    (Role.VOLUNTEER, HOME, set(), set()),
    (Role.QAIMAQAM, "LB32", {HOME, SAME_DISTRICT}, set()),
    (Role.QAIMAQAM, "LB51", {AKKAR}, set()),
    (Role.GOVERNOR, "LB3", {HOME, SAME_DISTRICT, SAME_GOVERNORATE}, set()),
    (Role.GOVERNOR, "LB7", {AKKAR}, set()),
    (Role.MINISTRY, "LB", EVERYWHERE - {NO_AREA}, set()),
    (Role.INSPECTOR, "LB", EVERYWHERE - {NO_AREA}, set()),
    (Role.HEALTH_MINISTRY, "LB", EVERYWHERE - {NO_AREA}, EVERYWHERE - {NO_AREA}),
    (Role.AGENT, "LB", set(), set()),
    (Role.COMMITTEE, "LB", set(), set()),
    (Role.ARMY, "LB3", set(), set()),
    (Role.ADMIN, "LB", set(), set()),
]


@pytest.mark.parametrize(
    ("role", "area_code", "expected", "details"),
    CASE_MATRIX,
    ids=[f"{r.value}@{a}" for r, a, _, _ in CASE_MATRIX],
)
def test_cases_and_quarantine_centres_are_scoped(
    db: Session, role: Role, area_code: str, expected: set[str], details: set[str]
) -> None:
    from datetime import date

    from core.case_reading import case_for, cases_visible_to, shows_details
    from core.covid_cases import CaseReport, QuarantineCentre
    from core.quarantine_centres import centres_visible_to

    load_sample_geography(db)
    for n, place in enumerate(PLACES[:-1], start=1):
        centre = QuarantineCentre(name=place, capacity=10, occupancy=0, readiness="ready")
        case = CaseReport(
            number=f"{n:09d}",
            classification="confirmed",
            resident_group="lebanese",
            age_band="20-39",
            sex="female",
            isolation_place="home",
            reported_on=date(2020, 4, 1),
        )
        for record in (centre, case):
            record.place_in(area(db, place))
        db.add_all([centre, case])
    db.flush()
    viewer = make_user(db, role, area_code)
    seen = {line.case.locality_code for line in cases_visible_to(db, viewer)}
    assert seen == expected
    cases = db.scalars(select(CaseReport)).all()
    assert {c.locality_code for c in cases if case_for(db, viewer, c.id)} == expected
    assert {c.locality_code for c in cases if shows_details(viewer, c)} == details
    assert {line.centre.locality_code for line in centres_visible_to(db, viewer)} == expected
