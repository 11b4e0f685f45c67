"""Corrections: logged field by field by the room, decided by the committee, never by the logger.

Approval makes version 2 and keeps version 1 as it was, re-applies the circular's rules and
owes a new score; rejection changes nothing but the ticket, which carries the reason.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationStatus, versions_of
from core.audit import AuditEvent
from core.clock import beirut_today
from core.correction_changes import Change, CorrectionInvalid, NothingToCorrect
from core.correction_decisions import (
    AlreadyDecided,
    NotCommittee,
    OwnCorrection,
    ReasonRequired,
    StaleCorrection,
    decide_correction,
    log_correction,
)
from core.corrections import CorrectionRequest, CorrectionSource
from core.db import utcnow
from core.programme import set_window
from core.roles import Role
from core.submissions import DuplicateFamily
from core.tickets import Ticket, TicketCategory, TicketStatus, open_ticket
from core.users import StaffUser
from scoring.formula import load_formula
from scoring.scores import unscored
from tests.support.factories import load_sample_geography, make_user
from tests.support.households import submitted

RULES = {"today": beirut_today()}


@pytest.fixture
def correction_room(db: Session) -> tuple[StaffUser, StaffUser, StaffUser]:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    agent = make_user(db, Role.AGENT, "LB", "agent-a")
    committee = make_user(db, Role.COMMITTEE, "LB", "committee-a")
    other_committee = make_user(db, Role.COMMITTEE, "LB", "committee-b")
    return agent, committee, other_committee


def _ticket(db: Session, application: Application) -> Ticket:
    return open_ticket(
        db,
        phone=application.phone,
        channel="ivr",
        language="ar",
        category=TicketCategory.CORRECTION,
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    )


def _log(
    db: Session, user: StaffUser, application: Application, *changes: Change
) -> CorrectionRequest:
    return log_correction(
        db,
        _ticket(db, application),
        application,
        changes,
        source=CorrectionSource.AGENT,
        logged_by_id=user.id,
        actor=user.username,
        **RULES,
    )


NEW_ID = Change("members-0-id_number", "300000001", "a typing error", "ID card seen on video")


def test_approval_makes_version_two_and_keeps_version_one(
    db: Session, correction_room: tuple
) -> None:
    agent, committee, _ = correction_room
    application = submitted(db, 1)
    before = application.data
    correction = _log(db, agent, application, NEW_ID)
    assert correction.change_list() == [
        {
            "field": "members-0-id_number",
            "old": "200000001",
            "new": "300000001",
            "reason": "a typing error",
            "proof": "ID card seen on video",
        }
    ]
    decide_correction(db, correction, committee, approve=True, note="", **RULES)
    db.flush()
    assert application.version == 2
    assert application.pages()["family"]["members"][0]["id_number"] == "300000001"
    (kept,) = versions_of(db, application.id)
    assert (kept.version, kept.data, kept.replaced_by_correction_id) == (1, before, correction.id)
    # A new score is owed for version 2: `scoring sweep` finds it unscored.
    assert (application.id, 2) in unscored(db, load_formula().version)
    ticket = db.get(Ticket, correction.ticket_id)
    assert ticket is not None and ticket.status == TicketStatus.RESOLVED
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["correction.logged", "correction.approved"]


def test_the_member_who_logged_it_cannot_decide_it(db: Session, correction_room: tuple) -> None:
    agent, committee, other = correction_room
    application = submitted(db, 2)
    own = log_correction(
        db,
        _ticket(db, application),
        application,
        [NEW_ID],
        source=CorrectionSource.AGENT,
        logged_by_id=committee.id,  # a committee member who also took the call
        actor=committee.username,
        **RULES,
    )
    with pytest.raises(OwnCorrection):
        decide_correction(db, own, committee, approve=True, note="", **RULES)
    with pytest.raises(NotCommittee):
        decide_correction(db, own, agent, approve=True, note="", **RULES)
    assert application.version == 1 and own.status == "pending"
    decide_correction(db, own, other, approve=True, note="", **RULES)
    assert application.version == 2
    with pytest.raises(AlreadyDecided):
        decide_correction(db, own, other, approve=False, note="again", **RULES)


def test_rejection_needs_a_reason_and_changes_nothing(db: Session, correction_room: tuple) -> None:
    agent, committee, _ = correction_room
    application = submitted(db, 3)
    before = application.data
    correction = _log(db, agent, application, NEW_ID)
    with pytest.raises(ReasonRequired):
        decide_correction(db, correction, committee, approve=False, note="  ", **RULES)
    decide_correction(
        db, correction, committee, approve=False, note="The ID card shows 200000001.", **RULES
    )
    assert (application.version, application.data) == (1, before)
    assert versions_of(db, application.id) == []
    ticket = db.get(Ticket, correction.ticket_id)
    assert ticket is not None
    assert (ticket.status, ticket.resolution) == ("rejected", "The ID card shows 200000001.")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (Change("head_id_number", "12ab", "typo"), "head_id_number", "invalid_digits"),
        (Change("head_work", "astronaut", "typo"), "head_work", "invalid_choice"),
        (Change("members-9-first_name", "x", "typo"), "members-9-first_name", "unknown_field"),
        (Change("declaration", "", "typo"), "declaration", "unknown_field"),
        (Change("head_first_name", "سامي", " "), "head_first_name", "reason_required"),
        (Change("rooms", "3", "<script>"), "rooms", "invalid_characters"),
        (Change("residence_locality", "21112", "moved"), "residence_locality", "unknown_locality"),
        (Change("housing_tenure", "owned", "moved"), None, None),  # rent then means nothing
    ],
    ids=[
        "bad-digits",
        "bad-choice",
        "no-such-member",
        "declaration",
        "no-reason",
        "markup",
        "unknown-town",
        "valid",
    ],
)
def test_each_change_is_checked_by_the_forms_own_rules(
    db: Session, correction_room: tuple, change: Change, field: str | None, code: str | None
) -> None:
    agent, _, _ = correction_room
    application = submitted(db, 4)
    if field is None:
        correction = _log(db, agent, application, change)
        assert correction.change_list()[0]["new"] == "owned"
        return
    with pytest.raises(CorrectionInvalid) as refused:
        _log(db, agent, application, change)
    assert [(e.field, e.code) for e in refused.value.errors] == [(field, code)]
    assert db.scalar(select(func.count()).select_from(CorrectionRequest)) == 0


def test_a_change_to_the_same_value_is_nothing_to_correct(
    db: Session, correction_room: tuple
) -> None:
    agent, _, _ = correction_room
    application = submitted(db, 5)
    with pytest.raises(NothingToCorrect):
        _log(db, agent, application, Change("members-0-id_number", "200000005", "same"))


def test_a_head_id_of_another_family_is_refused_at_approval(
    db: Session, correction_room: tuple
) -> None:
    agent, committee, _ = correction_room
    submitted(db, 6)  # head ID 100000006
    application = submitted(db, 7)
    correction = _log(db, agent, application, Change("head_id_number", "100000006", "typo"))
    with pytest.raises(DuplicateFamily):
        decide_correction(db, correction, committee, approve=True, note="", **RULES)


def test_an_approval_re_applies_the_circulars_exclusions(
    db: Session, correction_room: tuple
) -> None:
    agent, committee, _ = correction_room
    application = submitted(db, 8)
    correction = _log(db, agent, application, Change("head_work", "public_sector", "declared"))
    decide_correction(db, correction, committee, approve=True, note="", **RULES)
    assert (application.status, application.reason) == (
        ApplicationStatus.INELIGIBLE,
        "public_sector_head",
    )
    assert versions_of(db, application.id)[0].status == ApplicationStatus.RECEIVED


def test_a_correction_of_an_older_version_must_be_logged_again(
    db: Session, correction_room: tuple
) -> None:
    agent, committee, _ = correction_room
    application = submitted(db, 9)
    first = _log(db, agent, application, NEW_ID)
    second = _log(db, agent, application, Change("rooms", "3", "a room was added"))
    decide_correction(db, first, committee, approve=True, note="", **RULES)
    with pytest.raises(StaleCorrection):
        decide_correction(db, second, committee, approve=True, note="", **RULES)
    assert application.version == 2


def test_a_phone_correction_moves_the_application_to_the_new_number(
    db: Session, correction_room: tuple
) -> None:
    agent, committee, _ = correction_room
    application = submitted(db, 10)
    correction = _log(db, agent, application, Change("phone", "70 123 456", "new number"))
    decide_correction(db, correction, committee, approve=True, note="", **RULES)
    assert application.phone == "+96170123456"
    assert json.loads(versions_of(db, application.id)[0].data)["personal"]["phone"] == (
        "+9613123456"
    )


def test_a_citizens_correction_link_lands_as_a_correction_once(
    db: Session, correction_room: tuple
) -> None:
    from core.correction_links import issue_correction_link, submit_citizen_correction
    from core.link_tokens import link_for_token
    from core.links import Channel, LinkUnavailable

    _, committee, _ = correction_room
    application = submitted(db, 11)
    set_window(db, utcnow() - timedelta(days=9), utcnow() - timedelta(days=1), "test")
    link, token = issue_correction_link(db, application)  # the round has closed: still issued
    assert (link.channel, link.phone, link.application_id) == (
        Channel.CORRECTION,
        application.phone,
        application.id,
    )
    found = link_for_token(db, token, "127.0.0.1")
    with pytest.raises(CorrectionInvalid):  # a refused change leaves the link usable
        submit_citizen_correction(db, found, [Change("rooms", "99", "bigger")], **RULES)
    assert found.used_at is None
    ticket, correction = submit_citizen_correction(
        db, found, [Change("rooms", "3", "my son's room")], **RULES
    )
    assert (ticket.channel, ticket.category, correction.source, correction.logged_by_id) == (
        "web",
        "correction",
        "citizen",
        None,
    )
    with pytest.raises(LinkUnavailable):
        submit_citizen_correction(db, found, [Change("rooms", "4", "again")], **RULES)
    decide_correction(db, correction, committee, approve=True, note="", **RULES)
    assert application.version == 2


def test_one_field_cannot_be_changed_twice_in_one_request(
    db: Session, correction_room: tuple
) -> None:
    agent, _, _ = correction_room
    application = submitted(db, 12)
    with pytest.raises(CorrectionInvalid) as refused:
        _log(db, agent, application, Change("rooms", "3", "one"), Change("rooms", "4", "two"))
    assert [(e.field, e.code) for e in refused.value.errors] == [("rooms", "duplicate_field")]
