"""Vouchers in the store and handovers: issued once per selected family of a published list, used
once (even by two officers at the same instant), refusals keep them, disputes reach the
committee, and only an officer of the municipality's area records anything."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from core.applications import Application
from core.audit import AuditEvent
from core.db import make_sessionmaker, utcnow
from core.ed25519_keys import generate_private_key
from core.references import check_digit
from core.scopes import OutsideArea
from core.tickets import Ticket, TicketCategory, TicketStatus, decide
from distribution.handovers import (
    MAX_REASON,
    BadReason,
    ChecksMissing,
    Handover,
    HandoverOutcome,
    ListNotPublished,
    MistypedCode,
    ReasonProblem,
    UnknownVoucher,
    Voucher,
    VoucherAlreadyUsed,
    VoucherDisputed,
    issue_vouchers,
    record_dispute,
    record_handover,
    record_refusal,
    voucher_by_code_or_token,
)
from distribution.vouchers import Claim, InvalidVoucher, Problem, sign, verify
from tests.plugins.handover_world import World, build_world, user
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import ELSEWHERE, HOME
from tests.support.list_factories import make_list

PUBLIC = SERVICE_KEY.public_key()


def home_vouchers(db: Session, handover_world: World) -> list[Voucher]:
    return issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")


def count(db: Session, what: object) -> int:
    return int(db.scalar(select(func.count()).select_from(what)) or 0)


def audited(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- issuing ----------------------------------------------------------------------------------


def test_vouchers_are_issued_once_for_the_selected_families_of_the_municipality(
    db: Session, handover_world: World
) -> None:
    first = home_vouchers(db, handover_world)
    again = home_vouchers(db, handover_world)
    assert sorted(v.application_id for v in first) == sorted(a.id for a in handover_world.home)
    assert [(v.id, v.code, v.token) for v in again] == [(v.id, v.code, v.token) for v in first]
    assert count(db, Voucher) == 3
    for voucher in first:
        application = db.get_one(Application, voucher.application_id)
        claim = verify(voucher.token, PUBLIC)
        assert (claim.code, claim.list_id) == (voucher.code, handover_world.published.id)
        assert (claim.reference, claim.locality_code) == (application.reference, HOME)
        assert voucher.governorate_code == "LB3" and not voucher.is_used
    (event,) = audited(db, "vouchers.issued")  # the second call issued nothing new
    assert event.details == f'{{"issued":3,"locality":"{HOME}"}}'


def test_no_voucher_for_an_unpublished_list(db: Session, handover_world: World) -> None:
    with pytest.raises(ListNotPublished):
        issue_vouchers(db, handover_world.draft, HOME, SERVICE_KEY)
    assert count(db, Voucher) == 0


def test_each_municipality_gets_only_its_own_families(db: Session, handover_world: World) -> None:
    (beirut,) = issue_vouchers(db, handover_world.published, ELSEWHERE, SERVICE_KEY)
    assert beirut.application_id == handover_world.elsewhere.id
    assert issue_vouchers(db, handover_world.published, "22111", SERVICE_KEY) == []


# --- finding a voucher --------------------------------------------------------------------------


def test_a_voucher_is_found_by_its_code_as_typed_or_by_its_token(
    db: Session, handover_world: World
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    arabic_digits = voucher.code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    spaced = f"{voucher.code[:3]} {voucher.code[3:6]} {voucher.code[6:]}"
    for typed in (voucher.code, spaced, arabic_digits, f"  {voucher.token}\n"):
        found, claim = voucher_by_code_or_token(db, typed, PUBLIC)
        assert found.id == voucher.id and claim.code == voucher.code


def test_bad_codes_and_tokens_are_told_apart(db: Session, handover_world: World) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    wrong_last = voucher.code[:-1] + str((int(voucher.code[-1]) + 1) % 10)
    with pytest.raises(MistypedCode):
        voucher_by_code_or_token(db, wrong_last, PUBLIC)
    with pytest.raises(UnknownVoucher):
        voucher_by_code_or_token(db, "123456789" + check_digit("123456789"), PUBLIC)
    forged = sign(verify(voucher.token, PUBLIC), generate_private_key())
    with pytest.raises(InvalidVoucher) as raised:
        voucher_by_code_or_token(db, forged, PUBLIC)
    assert raised.value.problem is Problem.BAD_SIGNATURE
    # Genuinely signed, but never issued by this store (another list, another deployment).
    claim = verify(voucher.token, PUBLIC)
    stray = sign(Claim("4829301749", 99, claim.reference, HOME, claim.issued_on), SERVICE_KEY)
    with pytest.raises(UnknownVoucher):
        voucher_by_code_or_token(db, stray, PUBLIC)


# --- handovers, refusals, disputes -------------------------------------------------------------


def test_a_handover_uses_the_voucher_once(db: Session, handover_world: World) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    handover = record_handover(
        db, voucher, handover_world.army, id_seen=True, signature_obtained=True
    )
    assert handover.outcome == HandoverOutcome.HANDED_OVER
    assert handover.id_seen and handover.signature_obtained
    assert voucher.used_at is not None and voucher.used_by_id == handover_world.army.id
    with pytest.raises(VoucherAlreadyUsed):
        record_handover(db, voucher, user(db, "army-chiyah"), True, True)
    with pytest.raises(VoucherAlreadyUsed):
        record_refusal(db, voucher, handover_world.army, "came back for more")
    assert count(db, Handover) == 1
    (event,) = audited(db, "voucher.handed_over")
    assert event.details == f'{{"code":"{voucher.code}","handover":{handover.id}}}'


def test_a_stale_copy_of_the_voucher_cannot_use_it_again(
    db: Session, handover_world: World
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    # Used by another officer's request; this session's copy still says unused.
    used = update(Voucher).where(Voucher.id == voucher.id).values(used_at=utcnow())
    db.execute(used.execution_options(synchronize_session=False))
    assert voucher.used_at is None
    with pytest.raises(VoucherAlreadyUsed):
        record_handover(db, voucher, handover_world.army, True, True)


@pytest.mark.parametrize("checks", [(False, True), (True, False), (False, False)])
def test_no_handover_without_the_id_seen_and_the_signature(
    db: Session, handover_world: World, checks: tuple[bool, bool]
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    with pytest.raises(ChecksMissing):
        record_handover(db, voucher, handover_world.army, *checks)
    db.refresh(voucher)
    assert not voucher.is_used and count(db, Handover) == 0


def test_a_refusal_keeps_the_voucher_usable(db: Session, handover_world: World) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    refusal = record_refusal(db, voucher, handover_world.army, "  No ID card with him today  ")
    assert (refusal.outcome, refusal.reason) == ("refused", "No ID card with him today")
    assert not refusal.id_seen and not voucher.is_used
    record_handover(db, voucher, handover_world.army, True, True)
    assert voucher.is_used
    assert len(audited(db, "voucher.refused")) == 1


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        ("", ReasonProblem.REQUIRED),
        (" \t\n ", ReasonProblem.REQUIRED),
        ("x" * (MAX_REASON + 1), ReasonProblem.TOO_LONG),
        ("<script>alert(1)</script>", ReasonProblem.MARKUP),
        ("the <b>family</b> left", ReasonProblem.MARKUP),
    ],
)
def test_a_refusal_or_dispute_needs_a_plain_reason(
    db: Session, handover_world: World, reason: str, problem: ReasonProblem
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    for record in (record_refusal, record_dispute):
        with pytest.raises(BadReason) as raised:
            record(db, voucher, handover_world.army, reason)
        assert raised.value.problem is problem
    assert count(db, Handover) == 0 and count(db, Ticket) == 0


def test_a_dispute_goes_to_the_committee_and_holds_the_voucher(
    db: Session, handover_world: World
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    dispute = record_dispute(db, voucher, handover_world.army, "Two families claim this voucher")
    ticket = db.get_one(Ticket, dispute.ticket_id)
    assert ticket.category == TicketCategory.DISTRIBUTION and ticket.status == "open"
    assert ticket.application_id == voucher.application_id
    assert ticket.locality_code == HOME and ticket.logged_by_id == handover_world.army.id
    assert ticket.text is not None and voucher.code in ticket.text
    with pytest.raises(VoucherDisputed):
        record_handover(db, voucher, handover_world.army, True, True)
    decide(db, ticket, TicketStatus.RESOLVED, "The first family is the right one", "committee")
    record_handover(db, voucher, handover_world.army, True, True)
    assert voucher.is_used
    (event,) = audited(db, "voucher.disputed")
    assert f'"ticket":"{ticket.number}"' in event.details


@pytest.mark.parametrize("username", ["army-beirut", "ministry", "focal"])
def test_only_an_officer_of_the_municipalitys_area_records(
    db: Session, handover_world: World, username: str
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    outsider = user(db, username)
    with pytest.raises(OutsideArea):
        record_handover(db, voucher, outsider, True, True)
    with pytest.raises(OutsideArea):
        record_refusal(db, voucher, outsider, "no")
    with pytest.raises(OutsideArea):
        record_dispute(db, voucher, outsider, "no")
    db.refresh(voucher)
    assert not voucher.is_used and count(db, Handover) == 0


def test_an_officer_posted_to_the_municipality_itself_records(
    db: Session, handover_world: World
) -> None:
    voucher = home_vouchers(db, handover_world)[0]
    record_handover(db, voucher, user(db, "army-chiyah"), True, True)
    assert voucher.is_used


# --- two officers at the same instant, on PostgreSQL -------------------------------------------


def test_two_officers_at_once_cannot_both_hand_over(race_engine: Engine) -> None:
    factory = make_sessionmaker(race_engine)
    with factory() as setup:
        handover_world = build_world(setup)
        voucher_id = home_vouchers(setup, handover_world)[0].id
        setup.commit()
        user(setup, "army-chiyah")
    sessions = [factory(), factory()]
    officers = [user(sessions[0], "army"), user(sessions[1], "army-chiyah")]
    vouchers = [s.get_one(Voucher, voucher_id) for s in sessions]  # both see it unused
    start, outcomes = threading.Barrier(2), [""] * 2

    def hand_over(n: int) -> None:
        start.wait()
        try:
            record_handover(sessions[n], vouchers[n], officers[n], True, True)
            sessions[n].commit()
            outcomes[n] = "handed over"
        except VoucherAlreadyUsed:
            sessions[n].rollback()
            outcomes[n] = "already used"

    threads = [threading.Thread(target=hand_over, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for session in sessions:
        session.close()
    assert sorted(outcomes) == ["already used", "handed over"]
    with factory() as check:
        assert count(check, Handover) == 1
        assert check.get_one(Voucher, voucher_id).used_at is not None
        assert len(audited(check, "voucher.handed_over")) == 1


def test_a_list_built_later_does_not_reissue_the_earlier_vouchers(
    db: Session, handover_world: World
) -> None:
    earlier = home_vouchers(db, handover_world)
    later = make_list(db, handover_world.home)
    newer = issue_vouchers(db, later, HOME, SERVICE_KEY)
    assert not {v.code for v in newer} & {v.code for v in earlier}
    assert {verify(v.token, PUBLIC).list_id for v in newer} == {later.id}
