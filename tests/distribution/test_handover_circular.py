"""The handover as the circular describes it, in the store: a refusal needs the beneficiary's
signed declaration and its paper's number; the army assigns the municipality's mukhtars and
volunteers, and a record names who assisted, only from those assigned; a published list needs
two different committee members' approvals before the army records anything against it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.roles import Role
from core.scopes import OutsideArea
from core.users import StaffUser
from distribution.approvals import (
    AlreadyApproved,
    ApprovalPending,
    NotAllowedToApprove,
    NotPublishedYet,
    approvals_of,
    approve_list,
    is_approved,
)
from distribution.assists import (
    HandoverAssist,
    NotAHelper,
    NotAssigned,
    assign,
    assigned,
    assistant_for,
    note_assistant,
    unassign,
)
from distribution.declarations import (
    BadDeclaration,
    Declaration,
    DeclarationProblem,
    SignedDeclaration,
    record_declared_refusal,
)
from distribution.handovers import (
    BadReason,
    Handover,
    Voucher,
    issue_vouchers,
    record_handover,
)
from scoring.lists import BeneficiaryList
from tests.plugins.handover_world import World, user
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import ELSEWHERE, HOME, SAME_DISTRICT, make_user
from tests.support.list_factories import make_list

SIGNED = SignedDeclaration(True, "A-1234")


def first_voucher(db: Session, beneficiary_list: BeneficiaryList) -> Voucher:
    return issue_vouchers(db, beneficiary_list, HOME, SERVICE_KEY, "army")[0]


def count(db: Session, what: object) -> int:
    return int(db.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


def audited(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def member(db: Session, username: str) -> StaffUser:
    return make_user(db, Role.COMMITTEE, "LB", username=username)


# --- the written declaration of a refusal -----------------------------------------------------


def test_a_refusal_records_the_signed_declaration_and_its_number(
    db: Session, handover_world: World
) -> None:
    voucher = first_voucher(db, handover_world.published)
    typed = SignedDeclaration(True, "  a-١٢٣٤ ")  # Arabic-Indic digits, lower case, spaces
    refusal = record_declared_refusal(db, voucher, handover_world.army, "Refused", typed)
    declaration = db.get_one(Declaration, refusal.id)
    assert (declaration.signed, declaration.paper_number) == (True, "A-1234")
    assert refusal.outcome == "refused" and not voucher.is_used
    (event,) = audited(db, "handover.declaration")
    assert json.loads(event.details) == {"handover": refusal.id, "paper": "A-1234"}
    assert len(audited(db, "voucher.refused")) == 1


@pytest.mark.parametrize(
    ("declaration", "problem"),
    [
        (SignedDeclaration(False, "A-1234"), DeclarationProblem.NOT_SIGNED),
        (SignedDeclaration(True, "   "), DeclarationProblem.NUMBER_REQUIRED),
        (SignedDeclaration(True, "1" * 21), DeclarationProblem.NUMBER_TOO_LONG),
        (SignedDeclaration(True, "<b>12</b>"), DeclarationProblem.NUMBER_FORMAT),
        (SignedDeclaration(True, "12--34"), DeclarationProblem.NUMBER_FORMAT),
    ],
)
def test_a_refusal_without_a_proper_declaration_writes_nothing(
    db: Session, handover_world: World, declaration: SignedDeclaration, problem: str
) -> None:
    voucher = first_voucher(db, handover_world.published)
    with pytest.raises(BadDeclaration) as refused:
        record_declared_refusal(db, voucher, handover_world.army, "Refused", declaration)
    assert refused.value.problem == problem
    assert count(db, Handover) == 0 and count(db, Declaration) == 0
    assert audited(db, "voucher.refused") == []


def test_the_reason_is_still_required_beside_the_declaration(
    db: Session, handover_world: World
) -> None:
    voucher = first_voucher(db, handover_world.published)
    with pytest.raises(BadReason):
        record_declared_refusal(db, voucher, handover_world.army, " ", SIGNED)
    assert count(db, Handover) == 0


def test_an_officer_of_another_area_records_no_declared_refusal(
    db: Session, handover_world: World
) -> None:
    voucher = first_voucher(db, handover_world.published)
    with pytest.raises(OutsideArea):
        record_declared_refusal(db, voucher, user(db, "army-beirut"), "Refused", SIGNED)
    assert count(db, Declaration) == 0


# --- mukhtars and volunteers who assist --------------------------------------------------------


def test_the_army_assigns_only_mukhtars_and_volunteers_of_the_municipality(
    db: Session, handover_world: World
) -> None:
    list_id, army = handover_world.published.id, handover_world.army
    mukhtar = make_user(db, Role.MUKHTAR, HOME, username="mukhtar-home")
    volunteer = make_user(db, Role.VOLUNTEER, HOME, username="volunteer-home")
    neighbour = make_user(db, Role.MUKHTAR, SAME_DISTRICT, username="mukhtar-next-door")
    focal = make_user(db, Role.FOCAL_POINT, HOME, username="focal-home")
    retired = make_user(db, Role.MUKHTAR, HOME, username="mukhtar-retired")
    retired.is_active = False
    assert assign(db, army, list_id, HOME, mukhtar.id) is True
    assert assign(db, army, list_id, HOME, volunteer.id) is True
    assert assign(db, army, list_id, HOME, mukhtar.id) is False  # already there: nothing new
    for outsider in (neighbour, focal, retired, army):
        with pytest.raises(NotAHelper):
            assign(db, army, list_id, HOME, outsider.id)
    assert [a.username for a in assigned(db, list_id, HOME)] == ["mukhtar-home", "volunteer-home"]
    events = audited(db, "handover.assist_assigned")
    assert [json.loads(e.details) for e in events] == [
        {"account": mukhtar.id, "locality": HOME},
        {"account": volunteer.id, "locality": HOME},
    ]
    assert all(e.actor == "army" and e.object_id == str(list_id) for e in events)
    assert unassign(db, army, list_id, HOME, volunteer.id) is True
    assert unassign(db, army, list_id, HOME, volunteer.id) is False
    assert [a.username for a in assigned(db, list_id, HOME)] == ["mukhtar-home"]
    assert len(audited(db, "handover.assist_unassigned")) == 1


def test_only_the_army_of_the_municipalitys_area_assigns(
    db: Session, handover_world: World
) -> None:
    mukhtar = make_user(db, Role.MUKHTAR, HOME, username="mukhtar-home")
    for officer in (user(db, "army-beirut"), user(db, "ministry"), user(db, "focal")):
        with pytest.raises(OutsideArea):
            assign(db, officer, handover_world.published.id, HOME, mukhtar.id)
    beirut_mukhtar = make_user(db, Role.MUKHTAR, ELSEWHERE, username="mukhtar-beirut")
    with pytest.raises(OutsideArea):  # Beirut is not in the army's Mount Lebanon
        assign(db, handover_world.army, handover_world.published.id, ELSEWHERE, beirut_mukhtar.id)
    assert audited(db, "handover.assist_assigned") == []


def test_a_handover_records_who_assisted_only_from_those_assigned(
    db: Session, handover_world: World
) -> None:
    voucher = first_voucher(db, handover_world.published)
    army = handover_world.army
    mukhtar = make_user(db, Role.MUKHTAR, HOME, username="mukhtar-home")
    volunteer = make_user(db, Role.VOLUNTEER, HOME, username="volunteer-home")
    assign(db, army, handover_world.published.id, HOME, mukhtar.id)
    with pytest.raises(NotAssigned):  # a volunteer of the place, but not assigned to this list
        assistant_for(db, voucher, volunteer.id)
    other_list = make_list(db, handover_world.home)
    with pytest.raises(NotAssigned):  # assigned to the first list, not to this one
        assistant_for(db, first_voucher(db, other_list), mukhtar.id)
    assistant = assistant_for(db, voucher, mukhtar.id)
    handover = record_handover(db, voucher, army, True, True)
    note_assistant(db, handover, assistant, army)
    assert db.get_one(HandoverAssist, handover.id).account_id == mukhtar.id
    (event,) = audited(db, "handover.assisted")
    assert json.loads(event.details) == {"account": mukhtar.id, "handover": handover.id}
    assert "mukhtar-home" not in event.details


# --- four eyes: two committee members approve a list --------------------------------------------


def test_a_list_needs_two_different_members_before_the_army_uses_it(
    db: Session, handover_world: World
) -> None:
    fresh = make_list(db, handover_world.home)
    voucher = first_voucher(db, fresh)
    first, second = member(db, "member-a"), member(db, "member-b")
    with pytest.raises(ApprovalPending) as pending:
        record_handover(db, voucher, handover_world.army, True, True)
    assert pending.value.approvals == 0
    assert approve_list(db, fresh, first) == 1 and not is_approved(db, fresh.id)
    with pytest.raises(AlreadyApproved):  # the same member twice is still one pair of eyes
        approve_list(db, fresh, first)
    with pytest.raises(ApprovalPending) as still:
        record_declared_refusal(db, voucher, handover_world.army, "Refused", SIGNED)
    assert still.value.approvals == 1 and count(db, Handover) == 0
    assert approve_list(db, fresh, second) == 2 and is_approved(db, fresh.id)
    record_handover(db, voucher, handover_world.army, True, True)
    assert voucher.is_used
    assert [a.member for a in approvals_of(db, fresh.id)] == ["member-a", "member-b"]
    details = [
        json.loads(e.details) for e in audited(db, "list.approved") if e.object_id == str(fresh.id)
    ]
    assert details == [{"approvals": 1, "approved": False}, {"approvals": 2, "approved": True}]


def test_only_committee_members_approve_and_only_published_lists(
    db: Session, handover_world: World
) -> None:
    fresh = make_list(db, handover_world.home)
    for outsider in (handover_world.army, user(db, "ministry"), user(db, "focal")):
        with pytest.raises(NotAllowedToApprove):
            approve_list(db, fresh, outsider)
    with pytest.raises(NotPublishedYet):
        approve_list(db, handover_world.draft, member(db, "member-a"))
    assert approvals_of(db, fresh.id) == [] and approvals_of(db, handover_world.draft.id) == []
