"""Flags over HTTP: a mukhtar flags a form from the previous forms' list, the focal point sends
it to 1766 (the committee then sees the correction in the room) or clears it; other
municipalities get 404; refused posts write nothing and say why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.applications import Application
from core.corrections import CorrectionRequest
from core.db import utcnow
from core.flags import MAX_REASON, ApplicationFlag
from core.messages import Direction, Message
from core.programme import set_window
from core.roles import Role
from core.tickets import Ticket
from tests.support.factories import ELSEWHERE, HOME, audit_events, load_sample_geography, rows_of
from tests.support.households import submitted
from tests.support.staff_web import csrf, signed_in_as

ACCOUNTS = {
    "mukhtar": (Role.MUKHTAR, HOME),
    "volunteer": (Role.VOLUNTEER, HOME),
    "focal": (Role.FOCAL_POINT, HOME),
    "mukhtar-away": (Role.MUKHTAR, ELSEWHERE),
    "focal-away": (Role.FOCAL_POINT, ELSEWHERE),
    "qaimaqam": (Role.QAIMAQAM, "LB32"),
    "ministry": (Role.MINISTRY, "LB"),
    "committee": (Role.COMMITTEE, "LB"),
    "agent": (Role.AGENT, "LB"),
}
REASON = "The spouse's ID number is not the one on her card."


@pytest.fixture
def flag_town(db: Session) -> Application:
    """The sample geography, an open round, and one family's form in the home municipality."""
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "test")
    application = submitted(db, 1)
    db.commit()
    return application


def as_user(client: FlaskClient, db: Session, username: str) -> FlaskClient:
    """Signed in as `username` (signing out whoever was), pages in English."""
    return signed_in_as(client, db, username, ACCOUNTS)


def send(client: FlaskClient, path: str, fields: dict[str, str]) -> TestResponse:
    return client.post(path, data={**fields, "csrf_token": csrf(client, "/console")})


def flag_path(application: Application) -> str:
    return f"/console/applications/{application.id}/flag"


def test_a_flag_reaches_the_committee_as_a_correction(
    client: FlaskClient, db: Session, flag_town: Application
) -> None:
    mukhtar = as_user(client, db, "mukhtar")
    listing = mukhtar.get("/console/applications").get_data(as_text=True)
    assert flag_path(flag_town) in listing
    assert 'id="flags-link"' in mukhtar.get("/console").get_data(as_text=True)
    raised = send(mukhtar, flag_path(flag_town), {"kind": "wrong_data", "reason": REASON})
    assert raised.status_code == 302
    assert "The form was flagged" in mukhtar.get(raised.location).get_data(as_text=True)
    flag = db.scalars(select(ApplicationFlag)).one()

    focal = as_user(client, db, "focal")
    assert f"/console/flags/{flag.id}" in focal.get("/console/flags").get_data(as_text=True)
    page = focal.get(f"/console/flags/{flag.id}").get_data(as_text=True)
    assert REASON.replace("'", "&#39;") in page and "Clear the flag" in page
    fields = {"sent_as": "correction", "field-0": "members-0-id_number", "new-0": "300000001"}
    assert send(focal, f"/console/flags/{flag.id}/confirm", fields).status_code == 302
    db.expire_all()
    correction = db.scalars(select(CorrectionRequest)).one()
    assert flag.status == "confirmed" and flag.correction_id == correction.id

    committee = as_user(client, db, "committee")
    room = committee.get("/hotline/corrections").get_data(as_text=True)
    assert f"/hotline/tickets/{correction.ticket_id}" in room
    ticket_page = committee.get(f"/hotline/tickets/{correction.ticket_id}").get_data(as_text=True)
    assert "300000001" in ticket_page
    assert [e.actor for e in audit_events(db, "flag.raised")] == ["mukhtar"]
    assert [e.actor for e in audit_events(db, "flag.confirmed")] == ["focal"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"kind": "wrong_data", "reason": ""}, "Reason: "),
        ({"kind": "wrong_data", "reason": "x" * (MAX_REASON + 1)}, "Reason: "),
        ({"kind": "wrong_data", "reason": "<b>bold</b>"}, "Reason: "),
        ({"kind": "made_up", "reason": REASON}, "What looks wrong: "),
    ],
)
def test_bad_flags_write_nothing(
    client: FlaskClient,
    db: Session,
    flag_town: Application,
    fields: dict[str, str],
    says: str,
) -> None:
    mukhtar = as_user(client, db, "mukhtar")
    refused = send(mukhtar, flag_path(flag_town), fields)
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Nothing was recorded" in text and says in text
    assert rows_of(db, ApplicationFlag) == 0 and audit_events(db, "flag.raised") == []


def test_a_second_open_flag_is_refused_clearly(
    client: FlaskClient, db: Session, flag_town: Application
) -> None:
    mukhtar = as_user(client, db, "mukhtar")
    send(mukhtar, flag_path(flag_town), {"kind": "wrong_data", "reason": REASON})
    volunteer = as_user(client, db, "volunteer")
    assert "flagged already" in volunteer.get(flag_path(flag_town)).get_data(as_text=True)
    again = send(volunteer, flag_path(flag_town), {"kind": "family_moved", "reason": "Moved."})
    assert again.status_code == 409 and "flagged already" in again.get_data(as_text=True)
    assert rows_of(db, ApplicationFlag) == 1


def test_clearing_needs_a_reason_and_happens_once(
    client: FlaskClient, db: Session, flag_town: Application
) -> None:
    send(
        as_user(client, db, "mukhtar"),
        flag_path(flag_town),
        {"kind": "wrong_data", "reason": REASON},
    )
    flag_id = db.scalars(select(ApplicationFlag.id)).one()
    focal = as_user(client, db, "focal")
    empty = send(focal, f"/console/flags/{flag_id}/clear", {"note": " "})
    assert empty.status_code == 400 and "Note: " in empty.get_data(as_text=True)
    cleared = send(focal, f"/console/flags/{flag_id}/clear", {"note": "The card was misread."})
    assert cleared.status_code == 302
    assert "The flag was cleared" in focal.get(cleared.location).get_data(as_text=True)
    tickets = rows_of(db, Ticket)
    for action, fields in (("clear", {"note": "again"}), ("confirm", {"sent_as": "complaint"})):
        late = send(focal, f"/console/flags/{flag_id}/{action}", fields)
        assert late.status_code == 409 and "reviewed already" in late.get_data(as_text=True)
    assert rows_of(db, Ticket) == tickets
    assert len(audit_events(db, "flag.cleared")) == 1


def test_a_refused_correction_confirms_nothing(
    client: FlaskClient, db: Session, flag_town: Application
) -> None:
    send(
        as_user(client, db, "mukhtar"),
        flag_path(flag_town),
        {"kind": "wrong_data", "reason": REASON},
    )
    flag_id = db.scalars(select(ApplicationFlag.id)).one()
    focal = as_user(client, db, "focal")
    bad = {"sent_as": "correction", "field-0": "members-0-id_number", "new-0": "abc"}
    refused = send(focal, f"/console/flags/{flag_id}/confirm", bad)
    assert refused.status_code == 400 and "Nothing was recorded" in refused.get_data(as_text=True)
    assert rows_of(db, Ticket) == 0 and rows_of(db, CorrectionRequest) == 0
    assert db.get_one(ApplicationFlag, flag_id).status == "open"
    nowhere = send(focal, f"/console/flags/{flag_id}/confirm", {"sent_as": "elsewhere"})
    assert nowhere.status_code == 400 and rows_of(db, Ticket) == 0


def test_other_municipalities_and_levels_get_nothing(
    client: FlaskClient, db: Session, flag_town: Application
) -> None:
    send(
        as_user(client, db, "mukhtar"),
        flag_path(flag_town),
        {"kind": "wrong_data", "reason": REASON},
    )
    flag_id = db.scalars(select(ApplicationFlag.id)).one()
    away = as_user(client, db, "mukhtar-away")
    assert away.get(flag_path(flag_town)).status_code == 404
    assert (
        send(away, flag_path(flag_town), {"kind": "wrong_data", "reason": "x"}).status_code == 404
    )
    assert away.get("/console/applications/2147483647/flag").status_code == 404
    assert away.get("/console/applications/99999999999/flag").status_code == 404
    assert 'data-flag="' not in away.get("/console/flags").get_data(as_text=True)
    focal_away = as_user(client, db, "focal-away")
    assert focal_away.get(f"/console/flags/{flag_id}").status_code == 404
    for action in ("confirm", "clear"):
        path = f"/console/flags/{flag_id}/{action}"
        fields = {"sent_as": "complaint", "note": "not mine"}
        assert send(focal_away, path, fields).status_code == 404
    for outsider in ("qaimaqam", "ministry", "committee"):
        assert as_user(client, db, outsider).get("/console/flags").status_code == 403
    assert db.get_one(ApplicationFlag, flag_id).status == "open"
    assert rows_of(db, ApplicationFlag) == 1


def test_the_family_is_not_texted_the_decision_on_a_flag_sent_as_a_complaint(
    client: FlaskClient, db: Session, flag_town: Application
) -> None:
    """A suspected fraud confirmed to the room: the room decides it, and the family, who
    complained of nothing, receives no SMS about it."""
    fraud = {"kind": "suspected_fraud", "reason": "The family lives abroad since 2019."}
    send(as_user(client, db, "mukhtar"), flag_path(flag_town), fraud)
    flag_id = db.scalars(select(ApplicationFlag.id)).one()
    focal = as_user(client, db, "focal")
    send(focal, f"/console/flags/{flag_id}/confirm", {"sent_as": "complaint"})
    ticket = db.scalars(select(Ticket)).one()

    def texts_to_family() -> int:
        stmt = select(Message.id).where(
            Message.direction == Direction.OUTBOUND, Message.phone == flag_town.phone
        )
        return len(db.scalars(stmt).all())

    before = texts_to_family()
    agent = as_user(client, db, "agent")
    page = agent.get(f"/hotline/tickets/{ticket.id}").get_data(as_text=True)
    assert "Raised by staff" in page and "the family is not texted" in page
    decided = send(
        agent, f"/hotline/tickets/{ticket.id}/decide", {"status": "resolved", "note": "Checked."}
    )
    assert decided.status_code == 302
    assert "the family is not told by SMS" in agent.get(decided.location).get_data(as_text=True)
    db.expire_all()
    assert db.get_one(Ticket, ticket.id).status == "resolved"
    assert texts_to_family() == before
