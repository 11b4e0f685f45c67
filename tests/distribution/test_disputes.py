"""Distribution disputes decided by the technical committee, and vouchers revoked: a
confirmation lets the handover proceed, a revocation refuses the voucher everywhere (and the
export issues no new one), a dispute is decided once and only by the committee, and a
correction that excludes the family or changes its head revokes the voucher (and reissues)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.audit import AuditEvent
from core.correction_changes import Change
from core.corrections import CorrectionRequest
from core.roles import Role
from core.tickets import Ticket, TicketCategory, TicketStatus, open_ticket
from core.users import StaffUser
from distribution.disputes import (
    DisputeDecided,
    DisputeDecision,
    NotADispute,
    NotCommittee,
    Ruling,
    decide_dispute,
)
from distribution.handovers import (
    BadReason,
    Voucher,
    VoucherAlreadyUsed,
    issue_vouchers,
    record_dispute,
    record_handover,
    record_refusal,
)
from distribution.outcome_changes import vouchers_after_correction
from distribution.revocation_list import RevocationReason, VoucherRevoked
from distribution.revocations import VoucherRevocation, revocation_of, revoke_voucher
from distribution.vouchers import verify
from tests.plugins.handover_world import World
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import HOME, approved_correction, make_user

PUBLIC = SERVICE_KEY.public_key()


def member(db: Session, role: Role = Role.COMMITTEE, name: str = "committee-disputes") -> StaffUser:
    return make_user(db, role, "LB", username=name)


def disputed(db: Session, world: World) -> tuple[Voucher, Ticket]:
    """The first family's voucher of Chiyah, sent to the committee by the officer."""
    voucher = issue_vouchers(db, world.published, HOME, SERVICE_KEY, "army")[0]
    handover = record_dispute(db, voucher, world.army, "Two families claim this voucher")
    return voucher, db.get_one(Ticket, handover.ticket_id)


def rows(db: Session, model: type[object]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def audited(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_confirmed_voucher_is_handed_over(db: Session, handover_world: World) -> None:
    voucher, ticket = disputed(db, handover_world)
    committee = member(db)
    decided = decide_dispute(db, ticket, Ruling.CONFIRM, "The first family is right", committee)
    assert (decided.decision, decided.voucher_id, decided.decided_by_id) == (
        "confirm",
        voucher.id,
        committee.id,
    )
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolution == decided.reason
    assert voucher.revoked_at is None
    record_handover(db, voucher, handover_world.army, True, True)
    assert voucher.is_used
    (event,) = audited(db, "dispute.decided")
    assert event.actor == "committee-disputes"
    assert f'"code":"{voucher.code}"' in event.details and '"decision":"confirm"' in event.details
    assert audited(db, "voucher.revoked") == []


def test_a_revoked_voucher_is_refused_and_not_issued_again(
    db: Session, handover_world: World
) -> None:
    voucher, ticket = disputed(db, handover_world)
    decide_dispute(db, ticket, Ruling.REVOKE, "The card belongs to another family", member(db))
    assert voucher.revoked_at is not None and voucher.revoked_reason == "dispute"
    revocation = revocation_of(db, voucher)
    assert revocation is not None and revocation.ticket_id == ticket.id
    assert revocation.note == "The card belongs to another family"
    with pytest.raises(VoucherRevoked):
        record_handover(db, voucher, handover_world.army, True, True)
    with pytest.raises(VoucherRevoked):
        record_refusal(db, voucher, handover_world.army, "came back later")
    again = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")
    assert voucher.application_id not in {v.application_id for v in again}
    assert len(again) == 2 and rows(db, Voucher) == 3  # the export issued nothing new
    (event,) = audited(db, "voucher.revoked")
    assert event.details == f'{{"code":"{voucher.code}","reason":"dispute"}}'


def test_a_dispute_is_decided_once(db: Session, handover_world: World) -> None:
    voucher, ticket = disputed(db, handover_world)
    decide_dispute(db, ticket, Ruling.CONFIRM, "The first family is right", member(db))
    other = member(db, name="committee-other")
    for ruling in Ruling:
        with pytest.raises(DisputeDecided):
            decide_dispute(db, ticket, ruling, "Changed my mind", other)
    assert rows(db, DisputeDecision) == 1 and voucher.revoked_at is None


@pytest.mark.parametrize("role", [Role.AGENT, Role.ARMY, Role.MINISTRY])
def test_only_the_committee_decides_a_dispute(
    db: Session, handover_world: World, role: Role
) -> None:
    voucher, ticket = disputed(db, handover_world)
    with pytest.raises(NotCommittee):
        decide_dispute(db, ticket, Ruling.REVOKE, "no", member(db, role, f"not-committee-{role}"))
    assert rows(db, DisputeDecision) == 0 and voucher.revoked_at is None
    assert ticket.status == TicketStatus.OPEN


def test_a_decision_says_why_in_plain_text(db: Session, handover_world: World) -> None:
    voucher, ticket = disputed(db, handover_world)
    committee = member(db)
    for reason in ("", "   ", "<b>no</b>", "x" * 501):
        with pytest.raises(BadReason):
            decide_dispute(db, ticket, Ruling.REVOKE, reason, committee)
    assert rows(db, DisputeDecision) == 0 and voucher.revoked_at is None


def test_an_ordinary_complaint_is_not_a_dispute(db: Session, handover_world: World) -> None:
    family = handover_world.home[0]
    ticket = open_ticket(
        db,
        phone=family.phone,
        channel="agent",
        language="ar",
        category=TicketCategory.DISTRIBUTION,
        application=family,
    )
    with pytest.raises(NotADispute):
        decide_dispute(db, ticket, Ruling.REVOKE, "no", member(db))


# --- corrections that change what the voucher stands for ------------------------------------


def corrected(
    db: Session, world: World, change: Change
) -> tuple[Voucher, CorrectionRequest, Application]:
    """The first family's voucher, and an approved correction of its application."""
    voucher = issue_vouchers(db, world.published, HOME, SERVICE_KEY, "army")[0]
    application = db.get_one(Application, voucher.application_id)
    ticket = approved_correction(db, application, change)
    correction = db.scalars(
        select(CorrectionRequest).where(CorrectionRequest.ticket_id == ticket.id)
    ).one()
    return voucher, correction, application


def test_a_new_head_gets_a_new_voucher(db: Session, handover_world: World) -> None:
    change = Change("head_id_number", "300000009", "the card was misread", "ID card seen")
    voucher, correction, application = corrected(db, handover_world, change)
    (replaced,) = vouchers_after_correction(db, correction, application, SERVICE_KEY, "c-a")
    assert replaced.old_code == voucher.code and replaced.new_code not in (None, voucher.code)
    assert voucher.revoked_reason == RevocationReason.CORRECTION_REISSUED
    new = db.scalars(select(Voucher).where(Voucher.code == replaced.new_code)).one()
    assert (new.entry_id, new.revoked_at) == (voucher.entry_id, None)
    assert verify(new.token, PUBLIC).code == new.code
    revocation = revocation_of(db, voucher)
    assert revocation is not None and revocation.replaced_by_id == new.id
    assert revocation.correction_id == correction.id
    exported = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")
    assert new.id in {v.id for v in exported} and voucher.id not in {v.id for v in exported}
    with pytest.raises(VoucherRevoked):
        record_handover(db, voucher, handover_world.army, True, True)
    record_handover(db, new, handover_world.army, True, True)
    (event,) = audited(db, "voucher.reissued")
    assert event.details == f'{{"code":"{new.code}","replaces":"{voucher.code}"}}'


def test_a_correction_that_excludes_the_family_revokes_its_voucher(
    db: Session, handover_world: World
) -> None:
    change = Change("head_work", "public_sector", "works for the state", "payslip seen")
    voucher, correction, application = corrected(db, handover_world, change)
    assert application.status == "ineligible"
    (replaced,) = vouchers_after_correction(db, correction, application, SERVICE_KEY, "c-a")
    assert (replaced.old_code, replaced.new_code) == (voucher.code, None)
    assert voucher.revoked_reason == RevocationReason.CORRECTION_INELIGIBLE
    exported = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")
    assert application.id not in {v.application_id for v in exported}
    assert rows(db, Voucher) == 3 and audited(db, "voucher.reissued") == []


def test_a_correction_that_changes_neither_leaves_the_voucher(
    db: Session, handover_world: World
) -> None:
    change = Change("rooms", "5", "counted again", "visit")
    voucher, correction, application = corrected(db, handover_world, change)
    assert vouchers_after_correction(db, correction, application, SERVICE_KEY, "c-a") == []
    assert voucher.revoked_at is None and rows(db, VoucherRevocation) == 0


def test_a_used_voucher_is_never_revoked(db: Session, handover_world: World) -> None:
    voucher = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")[0]
    record_handover(db, voucher, handover_world.army, True, True)
    change = Change("head_work", "public_sector", "works for the state", "payslip seen")
    ticket = approved_correction(db, db.get_one(Application, voucher.application_id), change)
    correction = db.scalars(
        select(CorrectionRequest).where(CorrectionRequest.ticket_id == ticket.id)
    ).one()
    application = db.get_one(Application, voucher.application_id)
    assert vouchers_after_correction(db, correction, application, SERVICE_KEY, "c-a") == []
    assert voucher.revoked_at is None and rows(db, VoucherRevocation) == 0


def test_revoking_a_used_voucher_is_refused(db: Session, handover_world: World) -> None:
    voucher = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")[0]
    record_handover(db, voucher, handover_world.army, True, True)
    with pytest.raises(VoucherAlreadyUsed):
        revoke_voucher(db, voucher, RevocationReason.DISPUTE, "committee")
    assert voucher.revoked_at is None and rows(db, VoucherRevocation) == 0
