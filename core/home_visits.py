"""Home visits: the ministry draws a random sample of applications and records each visit.

Circular §5.4b: the social affairs ministry checks what municipalities, mukhtars and civil
society entered by visiting a random share of the families. The draw must be fair and
provable afterwards, so it is reproducible: a seed from `secrets`, the area's applications
ordered by id, and `random.Random(seed).sample` over them. The seed, the population (its size,
its last id and a digest of its ids) and the drawn list are stored, and written to the audit
trail (the list as its digest, an event's details being short). `redraw_matches` draws again
from them and says whether the stored list is the one the seed gives.

A sample is drawn over one municipality, or over a district as one population (the visits
then carry each family's municipality, and the pages count them per sample). Each visit's
result is recorded once — confirmed, different (with what was found), or not found — and
never edited; a second visit is a matter for a new sample.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.applications import Application
from core.db import Base, UTCDateTime, utcnow
from core.flags import Flagger
from core.geography import Area, AreaLevel, UnknownArea, resolve_area
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, area_condition, covers, visible

MAX_SAMPLE = 500  # visits one sample can ask of the field teams
MAX_NOTE = 500
SAMPLED_LEVELS = (AreaLevel.LOCALITY, AreaLevel.DISTRICT)


class VisitResult(StrEnum):
    """What the visitor found at the family's home."""

    CONFIRMED = "confirmed"  # the family and its form match
    DIFFERENT = "different"  # something differs; the note says what
    NOT_FOUND = "not_found"  # nobody of that family lives at the address


class VisitSample(Base):
    """One draw: where, how many, from which population, with which seed, by whom."""

    __tablename__ = "visit_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(String(8), index=True)
    area_level: Mapped[str] = mapped_column(String(12))
    seed: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)  # applications the draw was made from
    last_application_id: Mapped[int] = mapped_column(Integer)  # the population's highest id
    population_digest: Mapped[str] = mapped_column(String(64))  # sha256 of its ids, in order
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class SampleVisit(AreaScoped, Base):
    """One drawn application, in its drawn order, and the visit's result once recorded."""

    __tablename__ = "sample_visits"
    __table_args__ = (UniqueConstraint("sample_id", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("visit_samples.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in the drawn order
    result: Mapped[str | None] = mapped_column(String(10), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    visited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SampleProblem(StrEnum):
    """Why a draw was refused (the adapter says it in the user's language)."""

    UNKNOWN_AREA = "unknown_area"  # no municipality or district has this code
    WRONG_LEVEL = "wrong_level"  # a governorate or the country: choose narrower
    NO_SIZE = "no_size"  # neither a size nor a percentage, or both
    SIZE_RANGE = "size_range"  # params: max
    PERCENT_RANGE = "percent_range"  # 1 to 100
    EMPTY_AREA = "empty_area"  # the area has no application to visit
    MORE_THAN_POPULATION = "more_than_population"  # params: population


class SampleRefused(ValueError):
    def __init__(self, problem: SampleProblem, **params: int) -> None:
        super().__init__(problem.value)
        self.problem, self.params = problem, params


class VisitRecorded(Exception):
    """This visit's result is recorded already; it is never changed."""


class VisitNoteInvalid(ValueError):
    """A `different` result needs a note, and any note has a length limit."""


# --- the draw -----------------------------------------------------------------------------


def draw(ids: Sequence[int], seed: str, size: int) -> list[int]:
    """The drawn ids, in drawn order: the same ids, seed and size always give the same list."""
    # Reproducible on purpose: the seed comes from `secrets`, the generator must replay it.
    return random.Random(seed).sample(sorted(ids), size)  # noqa: S311


def digest(ids: Sequence[int]) -> str:
    """The population's fingerprint: sha256 of its ids in id order."""
    return _list_digest(sorted(ids))


def _list_digest(ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in ids).encode()).hexdigest()


def sample_area(session: Session, code: str) -> Area:
    """The municipality or district a sample is drawn over; `SampleRefused` otherwise."""
    try:
        area = resolve_area(session, code[:16])
    except UnknownArea:
        raise SampleRefused(SampleProblem.UNKNOWN_AREA) from None
    if area.level not in SAMPLED_LEVELS:
        raise SampleRefused(SampleProblem.WRONG_LEVEL)
    return area


def population_of(session: Session, area: Area, last_id: int | None = None) -> list[int]:
    """The ids of the area's applications, in id order (up to `last_id` when redrawing)."""
    stmt = select(Application.id).where(area_condition(Application, area))
    if last_id is not None:
        stmt = stmt.where(Application.id <= last_id)
    return list(session.scalars(stmt.order_by(Application.id)))


def sample_size(population: int, size: int | None, percent: int | None) -> int:
    """How many to draw: a number, or a percentage rounded up; `SampleRefused` if not sane."""
    if (size is None) == (percent is None):
        raise SampleRefused(SampleProblem.NO_SIZE)
    if percent is not None and not 1 <= percent <= 100:
        raise SampleRefused(SampleProblem.PERCENT_RANGE)
    if population == 0:
        raise SampleRefused(SampleProblem.EMPTY_AREA)
    wanted = size if size is not None else math.ceil(population * (percent or 0) / 100)
    if not 1 <= wanted <= MAX_SAMPLE:
        raise SampleRefused(SampleProblem.SIZE_RANGE, max=MAX_SAMPLE)
    if wanted > population:
        raise SampleRefused(SampleProblem.MORE_THAN_POPULATION, population=population)
    return wanted


class NotVisiting(PermissionError):
    """Only the ministry draws samples and records visits."""


def draw_sample(
    session: Session,
    user: Flagger,
    area_code: str,
    *,
    size: int | None = None,
    percent: int | None = None,
) -> VisitSample:
    """Draw and store a sample of the area's applications, with its seed, in the audit trail."""
    if not can(user.role, Permission.HOME_VISITS):
        raise NotVisiting()
    area = sample_area(session, area_code)
    ids = population_of(session, area)
    wanted = sample_size(len(ids), size, percent)
    seed = secrets.token_hex(16)
    drawn = draw(ids, seed, wanted)
    sample = VisitSample(
        area_code=area.code,
        area_level=area.level.value,
        seed=seed,
        size=wanted,
        population=len(ids),
        last_application_id=ids[-1],
        population_digest=digest(ids),
        drawn_by_id=user.id,
        created_at=utcnow(),
    )
    session.add(sample)
    session.flush()
    _add_visits(session, sample, drawn)
    # The list itself is the visits' rows; the trail holds its digest, in drawn order.
    details = {**_about(sample), "drawn": _list_digest(drawn)}
    audit.record(session, user.username, "sample.drawn", "sample", str(sample.id), details)
    return sample


def _about(sample: VisitSample) -> dict[str, str | int]:
    return {
        "area": sample.area_code,
        "seed": sample.seed,
        "size": sample.size,
        "population": sample.population,
        "last_application": sample.last_application_id,
        "digest": sample.population_digest,
    }


def _add_visits(session: Session, sample: VisitSample, drawn: Sequence[int]) -> None:
    applications = {
        a.id: a for a in session.scalars(select(Application).where(Application.id.in_(drawn)))
    }
    for position, application_id in enumerate(drawn, start=1):
        application = applications[application_id]
        visit = SampleVisit(sample_id=sample.id, application_id=application_id, position=position)
        visit.governorate_code = application.governorate_code
        visit.district_code = application.district_code
        visit.locality_code = application.locality_code
        session.add(visit)
    session.flush()


def drawn_ids(session: Session, sample: VisitSample) -> list[int]:
    stmt = (
        select(SampleVisit.application_id)
        .where(SampleVisit.sample_id == sample.id)
        .order_by(SampleVisit.position)
    )
    return list(session.scalars(stmt))


def drawn_digest(session: Session, sample: VisitSample) -> str:
    """The digest of the stored list, as the audit event of the draw recorded it."""
    return _list_digest(drawn_ids(session, sample))


def redraw_matches(session: Session, sample: VisitSample) -> bool:
    """Whether the stored population and list are exactly what the stored seed draws."""
    area = resolve_area(session, sample.area_code)
    ids = population_of(session, area, sample.last_application_id)
    if len(ids) != sample.population or digest(ids) != sample.population_digest:
        return False
    return draw(ids, sample.seed, sample.size) == drawn_ids(session, sample)


# --- the visits ---------------------------------------------------------------------------


def record_visit(
    session: Session, user: Flagger, visit: SampleVisit, result: VisitResult, note: str
) -> None:
    """The visit's result, once; `different` says what differed. Raises `VisitRecorded`,
    `VisitNoteInvalid`, `NotVisiting`."""
    if not covers(user, visit, Permission.HOME_VISITS):
        raise NotVisiting()
    if visit.result is not None:
        raise VisitRecorded()
    note = note.strip()
    if len(note) > MAX_NOTE or (result is VisitResult.DIFFERENT and not note):
        raise VisitNoteInvalid()
    visit.result, visit.note = result, note or None
    visit.visited_by_id, visit.visited_at = user.id, utcnow()
    details = {
        "sample": visit.sample_id,
        "application": visit.application_id,
        "result": result.value,
    }
    audit.record(session, user.username, "visit.recorded", "visit", str(visit.id), details)


def samples_visible_to(
    session: Session, viewer: Viewer, limit: int = 100
) -> list[tuple[VisitSample, int, int]]:
    """The samples, newest first, each with its visits done and its visits in all."""
    if not can(viewer.role, Permission.HOME_VISITS):
        return []
    samples = list(
        session.scalars(select(VisitSample).order_by(VisitSample.id.desc()).limit(limit))
    )
    progress = _progress(session, viewer, [s.id for s in samples])
    return [(s, *progress.get(s.id, (0, 0))) for s in samples]


def _progress(session: Session, viewer: Viewer, ids: list[int]) -> dict[int, tuple[int, int]]:
    stmt = (
        select(SampleVisit.sample_id, func.count(SampleVisit.result), func.count())
        .where(SampleVisit.sample_id.in_(ids))
        .group_by(SampleVisit.sample_id)
    )
    rows = session.execute(visible(stmt, viewer, SampleVisit, Permission.HOME_VISITS))
    return {sample_id: (done, total) for sample_id, done, total in rows}


def sample_for(session: Session, viewer: Viewer, sample_id: int) -> VisitSample | None:
    if not can(viewer.role, Permission.HOME_VISITS):
        return None
    return session.get(VisitSample, sample_id)


def visits_of(
    session: Session, viewer: Viewer, sample: VisitSample
) -> list[tuple[SampleVisit, Application]]:
    """The sample's visits in drawn order, each with its application (what the visitor needs)."""
    stmt = (
        select(SampleVisit, Application)
        .join(Application, Application.id == SampleVisit.application_id)
        .where(SampleVisit.sample_id == sample.id)
        .order_by(SampleVisit.position)
    )
    rows = session.execute(visible(stmt, viewer, SampleVisit, Permission.HOME_VISITS))
    return [(visit, application) for visit, application in rows]


def visit_for(session: Session, viewer: Viewer, visit_id: int) -> SampleVisit | None:
    visit = session.get(SampleVisit, visit_id)
    if visit is None or not covers(viewer, visit, Permission.HOME_VISITS):
        return None
    return visit
