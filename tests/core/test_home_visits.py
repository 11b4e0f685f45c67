"""Home visits: the ministry draws a reproducible random sample of a municipality's (or a
district's) applications and records each visit's result once; progress is visited / total.

A draw replays from its stored seed; a refused draw writes nothing; only the ministry sees
samples and visits.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.db import utcnow
from core.home_visits import (
    MAX_SAMPLE,
    NotVisiting,
    SampleProblem,
    SampleRefused,
    SampleVisit,
    VisitNoteInvalid,
    VisitRecorded,
    VisitResult,
    VisitSample,
    digest,
    draw,
    draw_sample,
    drawn_digest,
    drawn_ids,
    population_of,
    record_visit,
    redraw_matches,
    sample_area,
    samples_visible_to,
    visit_for,
    visits_of,
)
from core.links import Link
from core.programme import set_window
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import (
    ELSEWHERE,
    HOME,
    SAME_DISTRICT,
    area,
    audit_events,
    load_sample_geography,
    make_user,
    rows_of,
)
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, NO_AREA, PLACES


def _forms(db: Session, place: str | None, count: int) -> list[int]:
    """`count` applications placed in `place` (None: no area), as the store holds them."""
    programme = set_window(db, utcnow(), utcnow() + timedelta(days=9), "test")
    ids = []
    for _ in range(count):
        n = rows_of(db, Link) + 1
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
        if place is not None:
            application.place_in(area(db, place))
        db.add(application)
        db.flush()
        ids.append(application.id)
    return ids


@pytest.fixture
def ministry(db: Session) -> StaffUser:
    load_sample_geography(db)
    return make_user(db, Role.MINISTRY, "LB", "ministry-v")


def test_a_draw_replays_from_its_seed(db: Session, ministry: StaffUser) -> None:
    home = _forms(db, HOME, 30)
    _forms(db, ELSEWHERE, 5)
    sample = draw_sample(db, ministry, HOME, size=8)
    db.commit()
    assert (sample.size, sample.population, sample.area_level) == (8, 30, "locality")
    stored = drawn_ids(db, sample)
    assert len(set(stored)) == 8 and set(stored) <= set(home)
    assert stored == random.Random(sample.seed).sample(sorted(home), 8)  # the published rule
    assert stored == draw(home, sample.seed, 8)
    assert len(sample.seed) == 32 and sample.population_digest == digest(home)
    assert redraw_matches(db, sample)
    _forms(db, HOME, 3)  # later forms do not change what the seed drew
    assert redraw_matches(db, sample)
    event = audit_events(db, "sample.drawn")[0]
    assert event.object_id == str(sample.id) and sample.seed in event.details
    assert drawn_digest(db, sample) in event.details


def test_a_tampered_list_no_longer_matches_its_seed(db: Session, ministry: StaffUser) -> None:
    _forms(db, HOME, 12)
    sample = draw_sample(db, ministry, HOME, size=3)
    first = db.scalars(select(SampleVisit).where(SampleVisit.position == 1)).one()
    others = set(population_of(db, area(db, HOME))) - set(drawn_ids(db, sample))
    first.application_id = min(others)
    db.flush()
    assert not redraw_matches(db, sample)


def test_a_percentage_rounds_up_and_a_district_is_one_population(
    db: Session, ministry: StaffUser
) -> None:
    ids = _forms(db, HOME, 7) + _forms(db, SAME_DISTRICT, 4)
    sample = draw_sample(db, ministry, "LB32", percent=10)  # Baabda: both towns
    assert (sample.size, sample.population, sample.area_level) == (2, 11, "district")
    assert set(drawn_ids(db, sample)) <= set(ids)


@pytest.mark.parametrize(
    ("code", "size", "percent", "problem"),
    [
        (HOME, 0, None, SampleProblem.SIZE_RANGE),
        (HOME, 6, None, SampleProblem.MORE_THAN_POPULATION),
        (HOME, MAX_SAMPLE + 1, None, SampleProblem.SIZE_RANGE),
        (HOME, None, None, SampleProblem.NO_SIZE),
        (HOME, 2, 10, SampleProblem.NO_SIZE),
        (HOME, None, 0, SampleProblem.PERCENT_RANGE),
        (HOME, None, 101, SampleProblem.PERCENT_RANGE),
        ("LB3", 2, None, SampleProblem.WRONG_LEVEL),
        ("LB", 2, None, SampleProblem.WRONG_LEVEL),
        ("99999", 2, None, SampleProblem.UNKNOWN_AREA),
        ("'; drop table", 2, None, SampleProblem.UNKNOWN_AREA),
        (ELSEWHERE, 1, None, SampleProblem.EMPTY_AREA),
    ],
)
def test_bad_draws_are_refused_and_write_nothing(
    db: Session,
    ministry: StaffUser,
    code: str,
    size: int | None,
    percent: int | None,
    problem: SampleProblem,
) -> None:
    _forms(db, HOME, 5)
    with pytest.raises(SampleRefused) as refused:
        draw_sample(db, ministry, code, size=size, percent=percent)
    assert refused.value.problem is problem
    assert rows_of(db, VisitSample) == 0 and rows_of(db, SampleVisit) == 0
    assert audit_events(db, "sample.drawn") == []


def test_only_the_ministry_draws(db: Session, ministry: StaffUser) -> None:
    _forms(db, HOME, 5)
    focal = make_user(db, Role.FOCAL_POINT, HOME)
    with pytest.raises(NotVisiting):
        draw_sample(db, focal, HOME, size=1)
    assert sample_area(db, " lb32 ").code == "LB32"


def test_visits_are_recorded_once_with_progress(db: Session, ministry: StaffUser) -> None:
    _forms(db, HOME, 6)
    sample = draw_sample(db, ministry, HOME, size=3)
    visits = [visit for visit, _application in visits_of(db, ministry, sample)]
    assert [v.position for v in visits] == [1, 2, 3]
    assert samples_visible_to(db, ministry) == [(sample, 0, 3)]
    record_visit(db, ministry, visits[0], VisitResult.CONFIRMED, "")
    with pytest.raises(VisitNoteInvalid):
        record_visit(db, ministry, visits[1], VisitResult.DIFFERENT, "  ")
    with pytest.raises(VisitNoteInvalid):
        record_visit(db, ministry, visits[1], VisitResult.DIFFERENT, "x" * 501)
    assert visits[1].result is None
    record_visit(db, ministry, visits[1], VisitResult.DIFFERENT, "Five members live there, not 3")
    db.commit()
    assert samples_visible_to(db, ministry) == [(sample, 2, 3)]
    with pytest.raises(VisitRecorded):
        record_visit(db, ministry, visits[0], VisitResult.NOT_FOUND, "")
    assert visits[0].result == VisitResult.CONFIRMED
    assert visits[1].note == "Five members live there, not 3"
    events = audit_events(db, "visit.recorded")
    assert [e.object_id for e in events] == [str(visits[0].id), str(visits[1].id)]
    assert '"result":"different"' in events[1].details


# --- the scope matrix ---------------------------------------------------------------------


@pytest.mark.parametrize(("role", "area_code", "expected"), MATRIX, ids=MATRIX_IDS)
def test_samples_and_visits_are_the_ministrys(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    load_sample_geography(db)
    drawer = make_user(db, Role.MINISTRY, "LB")
    sample = VisitSample(
        area_code="LB",
        area_level="national",
        seed="0" * 32,
        size=len(PLACES),
        population=len(PLACES),
        last_application_id=0,
        population_digest="0" * 64,
        drawn_by_id=drawer.id,
    )
    db.add(sample)
    db.flush()
    for position, place in enumerate(PLACES, start=1):
        (application_id,) = _forms(db, None if place == NO_AREA else place, 1)
        visit = SampleVisit(sample_id=sample.id, application_id=application_id, position=position)
        if place != NO_AREA:
            visit.place_in(area(db, place))
        db.add(visit)
    db.flush()
    viewer = make_user(db, role, area_code)
    wanted = expected if role is Role.MINISTRY else set()
    seen = {visit.locality_code or NO_AREA for visit, _application in visits_of(db, viewer, sample)}
    assert seen == wanted
    by_id = {
        v.locality_code or NO_AREA
        for v in db.scalars(select(SampleVisit))
        if visit_for(db, viewer, v.id)
    }
    assert by_id == wanted
    assert bool(samples_visible_to(db, viewer)) == (role is Role.MINISTRY)
