"""Distribution disputes over HTTP: the committee decides on the ticket page (confirm or
revoke), agents no longer can, a refused decision writes nothing and says why, and the army's
verify page then refuses a revoked voucher (and takes a confirmed one); a correction the
committee approves that excludes the family revokes its voucher the same way."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.clock import beirut_today
from core.correction_changes import Change
from core.correction_decisions import log_correction
from core.corrections import CorrectionSource
from core.roles import Role
from core.tickets import Ticket, TicketCategory, open_ticket
from distribution.disputes import DisputeDecision
from distribution.handovers import Voucher, issue_vouchers, record_dispute
from distribution.revocation_list import RevocationReason
from distribution.revocations import revoke_voucher
from tests.plugins.handover_world import World
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import HOME, make_user
from tests.support.staff_web import csrf, signed_in

COMMITTEE, AGENT, ARMY = "committee-room", "agent-room", "army"


@pytest.fixture
def dispute_room(db: Session, handover_world: World) -> tuple[Voucher, Ticket]:
    """A Chiyah voucher the officer sent to the committee; a committee member and an agent."""
    make_user(db, Role.COMMITTEE, "LB", username=COMMITTEE)
    make_user(db, Role.AGENT, "LB", username=AGENT)
    voucher = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, ARMY)[0]
    handover = record_dispute(db, voucher, handover_world.army, "Two families claim this voucher")
    db.commit()
    return voucher, db.get_one(Ticket, handover.ticket_id)


def as_user(client: FlaskClient, username: str) -> FlaskClient:
    return signed_in(client, username)


def decide(client: FlaskClient, ticket: Ticket, **form: str) -> str:
    """Press a button of the dispute's form; where the answer leads."""
    token = csrf(client, f"/hotline/tickets/{ticket.id}")
    response = client.post(
        f"/hotline/tickets/{ticket.id}/dispute", data={"csrf_token": token, **form}
    )
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


def check_voucher(client: FlaskClient, code: str) -> str:
    token = csrf(client, "/console/vouchers/verify")
    page = client.post("/console/vouchers/verify", data={"csrf_token": token, "voucher": code})
    return page.get_data(as_text=True)


def hand_over(client: FlaskClient, code: str) -> tuple[int, str]:
    token = csrf(client, "/console/vouchers/verify")
    form = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    response = client.post(f"/console/vouchers/{code}/handover", data={"csrf_token": token, **form})
    return response.status_code, response.get_data(as_text=True)


def decisions(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(DisputeDecision)) or 0)


def test_the_committee_revokes_and_the_army_is_refused(
    client: FlaskClient, db: Session, dispute_room: tuple[Voucher, Ticket]
) -> None:
    voucher, ticket = dispute_room
    committee = as_user(client, COMMITTEE)
    page = committee.get(f"/hotline/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="dispute-form"' in page and f'data-voucher="{voucher.code}"' in page
    location = decide(committee, ticket, decision="revoke", reason="The card is another family's")
    assert "decided=1" in location
    page = committee.get(location).get_data(as_text=True)
    assert 'data-decision="revoke"' in page and "The card is another family&#39;s" in page
    assert 'id="dispute-form"' not in page
    db.expire_all()
    assert db.get_one(Voucher, voucher.id).revoked_at is not None
    assert db.get_one(Ticket, ticket.id).status == "resolved"

    army = as_user(client, ARMY)
    page = check_voucher(army, voucher.code)
    assert 'id="revoked"' in page and 'data-status="revoked"' in page
    assert 'id="valid"' not in page and 'id="handover-form"' not in page
    assert "The technical committee decided a dispute against it." in page
    status, page = hand_over(army, voucher.code)
    assert status == 409 and "This voucher has been revoked" in page


def test_a_confirmed_voucher_is_handed_over(
    client: FlaskClient, db: Session, dispute_room: tuple[Voucher, Ticket]
) -> None:
    voucher, ticket = dispute_room
    decide(as_user(client, COMMITTEE), ticket, decision="confirm", reason="The first family")
    army = as_user(client, ARMY)
    page = check_voucher(army, voucher.code)
    assert 'id="valid"' in page and 'data-status="unused"' in page and "handover-form" in page
    status, _page = hand_over(army, voucher.code)
    assert status == 302


def test_agents_no_longer_decide_a_dispute(
    client: FlaskClient, db: Session, dispute_room: tuple[Voucher, Ticket]
) -> None:
    _voucher, ticket = dispute_room
    agent = as_user(client, AGENT)
    page = agent.get(f"/hotline/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="dispute-waiting"' in page and 'id="dispute-form"' not in page
    assert f"/hotline/tickets/{ticket.id}/decide" not in page  # no general decision form
    token = csrf(agent, f"/hotline/tickets/{ticket.id}")
    data = {"csrf_token": token, "status": "rejected", "note": "no"}
    refused = agent.post(f"/hotline/tickets/{ticket.id}/decide", data=data)
    assert "error=dispute_committee" in refused.headers["Location"]
    page = agent.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Only the technical committee decides a distribution dispute." in page
    data = {"csrf_token": token, "decision": "revoke", "reason": "no"}
    assert agent.post(f"/hotline/tickets/{ticket.id}/dispute", data=data).status_code == 403
    db.expire_all()
    assert db.get_one(Ticket, ticket.id).status == "open" and decisions(db) == 0


@pytest.mark.parametrize(
    ("form", "error", "says"),
    [
        ({"decision": "revoke", "reason": "  "}, "dispute_reason_required", "Write the reason"),
        ({"decision": "revoke", "reason": "<b>x</b>"}, "dispute_reason_markup", "plain text"),
        ({"decision": "revoke", "reason": "x" * 501}, "dispute_reason_too_long", "at most 500"),
        ({"decision": "maybe", "reason": "why not"}, "dispute_ruling", "stands or is revoked"),
    ],
)
def test_a_refused_decision_writes_nothing_and_says_why(
    client: FlaskClient,
    db: Session,
    dispute_room: tuple[Voucher, Ticket],
    form: dict[str, str],
    error: str,
    says: str,
) -> None:
    voucher, ticket = dispute_room
    committee = as_user(client, COMMITTEE)
    location = decide(committee, ticket, **form)
    assert f"error={error}" in location and says in committee.get(location).get_data(as_text=True)
    db.expire_all()
    assert decisions(db) == 0 and db.get_one(Voucher, voucher.id).revoked_at is None


def test_a_dispute_is_decided_once_over_http(
    client: FlaskClient, db: Session, dispute_room: tuple[Voucher, Ticket]
) -> None:
    voucher, ticket = dispute_room
    committee = as_user(client, COMMITTEE)
    decide(committee, ticket, decision="confirm", reason="The first family")
    token = csrf(committee, "/hotline")
    again = committee.post(
        f"/hotline/tickets/{ticket.id}/dispute",
        data={"csrf_token": token, "decision": "revoke", "reason": "Second thoughts"},
    )
    assert "error=dispute_decided" in again.headers["Location"]
    assert decisions(db) == 1 and db.get_one(Voucher, voucher.id).revoked_at is None


def test_an_approved_correction_that_excludes_the_family_revokes_its_voucher(
    client: FlaskClient, db: Session, handover_world: World
) -> None:
    voucher = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, ARMY)[0]
    application = db.get_one(Application, voucher.application_id)
    agent = make_user(db, Role.AGENT, "LB", username=AGENT)
    make_user(db, Role.COMMITTEE, "LB", username=COMMITTEE)
    ticket = open_ticket(
        db,
        phone=application.phone,
        channel="agent",
        language="ar",
        category=TicketCategory.CORRECTION,
        application=application,
    )
    change = Change("head_work", "public_sector", "works for the state", "payslip seen")
    correction = log_correction(
        db,
        ticket,
        application,
        [change],
        source=CorrectionSource.AGENT,
        logged_by_id=agent.id,
        actor=AGENT,
        today=beirut_today(),
    )
    db.commit()
    committee = as_user(client, COMMITTEE)
    token = csrf(committee, f"/hotline/tickets/{ticket.id}")
    data = {"csrf_token": token, "decision": "approve"}
    assert (
        committee.post(f"/hotline/corrections/{correction.id}/decide", data=data).status_code == 302
    )
    db.expire_all()
    revoked = db.get_one(Voucher, voucher.id)
    assert revoked.revoked_at is not None and revoked.revoked_reason == "correction_ineligible"
    status, page = hand_over(as_user(client, ARMY), voucher.code)
    assert status == 409 and "This voucher has been revoked" in page


def test_a_voucher_revoked_meanwhile_can_only_be_confirmed(
    client: FlaskClient, db: Session, dispute_room: tuple[Voucher, Ticket]
) -> None:
    voucher, ticket = dispute_room
    revoke_voucher(db, voucher, RevocationReason.CORRECTION_INELIGIBLE, "committee-a")
    db.commit()
    committee = as_user(client, COMMITTEE)
    location = decide(committee, ticket, decision="revoke", reason="Another family's card")
    assert "error=dispute_revoked" in location
    assert "has been revoked already" in committee.get(location).get_data(as_text=True)
    assert decisions(db) == 0
    assert "decided=1" in decide(committee, ticket, decision="confirm", reason="Nothing to add")
    db.expire_all()
    assert db.get_one(Voucher, voucher.id).revoked_reason == "correction_ineligible"
