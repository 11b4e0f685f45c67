"""Flags: a mukhtar or a volunteer flags a form of its municipality; the focal point sends it to
the committee (a ticket, and a correction request it decides as any other) or clears it.

Nobody outside the municipality sees a flag or acts on one; every step is audited; a refused
step writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.clock import beirut_today
from core.correction_changes import Change, CorrectionInvalid
from core.correction_decisions import NotCommittee, decide_correction
from core.corrections import CorrectionStatus, corrections_visible_to
from core.db import utcnow
from core.flag_reviews import (
    FlagDecided,
    NotAReviewer,
    Review,
    SentAs,
    clean_review,
    clear_flag,
    confirm_flag,
)
from core.flags import (
    MAX_REASON,
    AlreadyFlagged,
    ApplicationFlag,
    FlagDraft,
    FlagInvalid,
    FlagKind,
    FlagStatus,
    NotAFlagger,
    clean_flag,
    flag_for,
    flaggable_application,
    flags_visible_to,
    raise_flag,
)
from core.programme import set_window
from core.roles import Role
from core.tickets import Ticket, TicketCategory, tickets_visible_to
from core.users import StaffUser
from tests.support.factories import (
    ELSEWHERE,
    HOME,
    area,
    audit_events,
    load_sample_geography,
    make_user,
    rows_of,
)
from tests.support.households import submitted
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, NO_AREA, PLACES

TODAY = {"today": beirut_today()}
WRONG_ID = Change("members-0-id_number", "300000001", "the card says otherwise")
DRAFT = FlagDraft(FlagKind.WRONG_DATA, "The spouse's ID number is not the one on her card.")


@pytest.fixture
def municipality(db: Session) -> dict[str, StaffUser]:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    return {
        "mukhtar": make_user(db, Role.MUKHTAR, HOME, "mukhtar-h"),
        "volunteer": make_user(db, Role.VOLUNTEER, HOME, "volunteer-h"),
        "focal": make_user(db, Role.FOCAL_POINT, HOME, "focal-h"),
        "mukhtar_elsewhere": make_user(db, Role.MUKHTAR, ELSEWHERE, "mukhtar-e"),
        "focal_elsewhere": make_user(db, Role.FOCAL_POINT, ELSEWHERE, "focal-e"),
        "committee": make_user(db, Role.COMMITTEE, "LB", "committee-x"),
    }


def test_a_confirmed_flag_becomes_a_correction_the_committee_decides(
    db: Session, municipality: dict[str, StaffUser]
) -> None:
    application = submitted(db, 1)
    flag = raise_flag(db, municipality["mukhtar"], application, DRAFT)
    assert [f.id for f in flags_visible_to(db, municipality["focal"])] == [flag.id]
    review = Review(SentAs.CORRECTION, "Checked with the family.")
    ticket = confirm_flag(db, municipality["focal"], flag, review, [WRONG_ID], **TODAY)
    db.commit()

    assert flag.status == FlagStatus.CONFIRMED and flag.ticket_id == ticket.id
    assert ticket.category == TicketCategory.CORRECTION
    assert ticket.application_id == application.id and ticket.locality_code == HOME
    committee = municipality["committee"]
    pending = corrections_visible_to(db, committee, status=CorrectionStatus.PENDING)
    assert [c.id for c in pending] == [flag.correction_id]
    correction = pending[0]
    assert correction.logged_by_id == municipality["focal"].id
    with pytest.raises(NotCommittee):  # the focal point logged it; it never decides it
        decide_correction(db, correction, municipality["focal"], approve=True, note="", **TODAY)
    decide_correction(db, correction, committee, approve=True, note="", **TODAY)
    db.commit()
    assert db.get_one(Application, application.id).version == 2
    assert [e.object_id for e in audit_events(db, "flag.raised")] == [str(flag.id)]
    confirmed = audit_events(db, "flag.confirmed")
    assert [e.object_id for e in confirmed] == [str(flag.id)]
    assert f'"correction":{correction.id}' in confirmed[0].details
    assert audit_events(db, "correction.logged")[0].actor == "focal-h"


def test_a_complaint_lands_in_the_room_without_a_correction(
    db: Session, municipality: dict[str, StaffUser]
) -> None:
    application = submitted(db, 2)
    draft = FlagDraft(FlagKind.SUSPECTED_FRAUD, "Two families declared at one flat.")
    flag = raise_flag(db, municipality["volunteer"], application, draft)
    ticket = confirm_flag(db, municipality["focal"], flag, Review(SentAs.COMPLAINT, ""), **TODAY)
    db.commit()
    assert ticket.category == TicketCategory.OTHER and flag.correction_id is None
    assert "suspected_fraud" in (ticket.text or "")
    room = make_user(db, Role.AGENT, "LB", "agent-x")
    assert ticket.id in {t.id for t in tickets_visible_to(db, room)}


def test_clearing_keeps_the_reason_and_decides_once(
    db: Session, municipality: dict[str, StaffUser]
) -> None:
    application = submitted(db, 3)
    focal = municipality["focal"]
    flag = raise_flag(db, municipality["mukhtar"], application, DRAFT)
    with pytest.raises(FlagInvalid):
        clear_flag(db, focal, flag, "   ")
    assert flag.is_open
    clear_flag(db, focal, flag, "The card was misread; the form is right.")
    db.commit()
    assert flag.status == FlagStatus.CLEARED and flag.review_note
    with pytest.raises(FlagDecided):
        clear_flag(db, focal, flag, "again")
    tickets = rows_of(db, Ticket)
    with pytest.raises(FlagDecided):
        confirm_flag(db, focal, flag, Review(SentAs.COMPLAINT, ""), **TODAY)
    assert rows_of(db, Ticket) == tickets
    assert [e.object_id for e in audit_events(db, "flag.cleared")] == [str(flag.id)]


def test_one_open_flag_per_application(db: Session, municipality: dict[str, StaffUser]) -> None:
    application = submitted(db, 4)
    first = raise_flag(db, municipality["mukhtar"], application, DRAFT)
    db.commit()
    with pytest.raises(AlreadyFlagged):
        raise_flag(db, municipality["volunteer"], application, DRAFT)
    db.rollback()
    assert rows_of(db, ApplicationFlag) == 1
    clear_flag(db, municipality["focal"], db.get_one(ApplicationFlag, first.id), "Nothing wrong.")
    raise_flag(db, municipality["volunteer"], application, DRAFT)  # a new one, once decided
    db.commit()
    assert rows_of(db, ApplicationFlag) == 2


def test_the_open_slot_holds_even_past_the_check(
    db: Session, municipality: dict[str, StaffUser]
) -> None:
    """Two flags posted at the same moment: the store's index refuses the second."""
    application = submitted(db, 5)
    raise_flag(db, municipality["mukhtar"], application, DRAFT)
    twin = ApplicationFlag(
        application_id=application.id,
        kind="wrong_data",
        reason="x",
        status="open",
        flagged_by_id=municipality["volunteer"].id,
    )
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(twin)


def test_nobody_outside_the_municipality_sees_or_acts(
    db: Session, municipality: dict[str, StaffUser]
) -> None:
    application = submitted(db, 6)
    outsider, focal_outside = municipality["mukhtar_elsewhere"], municipality["focal_elsewhere"]
    assert flaggable_application(db, outsider, application.id) is None
    assert flaggable_application(db, municipality["focal"], application.id) is None  # reviews
    assert flaggable_application(db, municipality["mukhtar"], 987654) is None
    with pytest.raises(NotAFlagger):
        raise_flag(db, outsider, application, DRAFT)
    flag = raise_flag(db, municipality["mukhtar"], application, DRAFT)
    assert flag_for(db, focal_outside, flag.id) is None
    assert flags_visible_to(db, focal_outside) == []
    with pytest.raises(NotAReviewer):
        clear_flag(db, focal_outside, flag, "not mine")
    with pytest.raises(NotAReviewer):  # a mukhtar flags, it does not review
        confirm_flag(db, municipality["mukhtar"], flag, Review(SentAs.COMPLAINT, ""), **TODAY)
    assert flag.is_open


def test_an_invalid_correction_confirms_nothing(
    db: Session, municipality: dict[str, StaffUser]
) -> None:
    application = submitted(db, 7)
    flag = raise_flag(db, municipality["mukhtar"], application, DRAFT)
    db.commit()
    tickets = rows_of(db, Ticket)
    bad = Change("members-0-id_number", "not a number", "typo")
    with pytest.raises(CorrectionInvalid):
        confirm_flag(db, municipality["focal"], flag, Review(SentAs.CORRECTION, ""), [bad], **TODAY)
    db.rollback()
    assert rows_of(db, Ticket) == tickets
    assert db.get_one(ApplicationFlag, flag.id).is_open


@pytest.mark.parametrize(
    ("form", "field", "code"),
    [
        ({"kind": "wrong_data", "reason": ""}, "reason", "required"),
        ({"kind": "wrong_data", "reason": "x" * (MAX_REASON + 1)}, "reason", "too_long"),
        ({"kind": "wrong_data", "reason": "<script>"}, "reason", "invalid_characters"),
        ({"kind": "it_is_wrong", "reason": "a reason"}, "kind", "invalid_choice"),
        ({"reason": "a reason"}, "kind", "required"),
    ],
)
def test_bad_flags_are_refused(form: dict[str, str], field: str, code: str) -> None:
    with pytest.raises(FlagInvalid) as refused:
        clean_flag(form)
    assert [(e.field, e.code) for e in refused.value.errors] == [(field, code)]


def test_reviews_are_cleaned() -> None:
    assert clean_review({"sent_as": "complaint", "note": ""}, clearing=False).note == ""
    with pytest.raises(FlagInvalid):
        clean_review({"sent_as": "elsewhere"}, clearing=False)
    with pytest.raises(FlagInvalid):
        clean_review({"note": ""}, clearing=True)
    assert clean_review({"note": " fine "}, clearing=True) == Review(None, "fine")


# --- the scope matrix ---------------------------------------------------------------------

MUNICIPAL = {Role.FOCAL_POINT, Role.MUKHTAR, Role.VOLUNTEER}


def _seed_flags(db: Session) -> None:
    """An application and an open flag on it in every place."""
    from core.links import Link

    programme = set_window(db, utcnow(), utcnow() + timedelta(days=9), "test")
    flagger = make_user(db, Role.MUKHTAR, HOME)
    for n, place in enumerate(PLACES):
        link = Link(
            token_hash=f"{n:064d}",
            channel="sms_link",
            programme_id=programme.id,
            phone="+9613123456",
            expires_at=programme.closes_at,
        )
        db.add(link)
        db.flush()
        application = Application(
            reference=f"{n:010d}",
            programme_id=programme.id,
            link_id=link.id,
            channel="sms_link",
            phone="+9613123456",
            status="received",
            data="{}",
        )
        flag = ApplicationFlag(
            kind="wrong_data", reason="r", status="open", flagged_by_id=flagger.id
        )
        if place != NO_AREA:
            application.place_in(area(db, place))
            flag.place_in(area(db, place))
        db.add(application)
        db.flush()
        flag.application_id = application.id
        db.add(flag)
    db.flush()


@pytest.mark.parametrize(("role", "area_code", "expected"), MATRIX, ids=MATRIX_IDS)
def test_flags_are_the_municipalitys_alone(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    load_sample_geography(db)
    _seed_flags(db)
    viewer = make_user(db, role, area_code)
    seen = {f.locality_code or NO_AREA for f in flags_visible_to(db, viewer)}
    assert seen == (expected if role in MUNICIPAL else set())
    every = db.scalars(select(ApplicationFlag)).all()
    by_id = {f.locality_code or NO_AREA for f in every if flag_for(db, viewer, f.id)}
    assert by_id == seen
