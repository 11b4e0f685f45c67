"""Stored scores: each application version's PMT score, with what it was computed from.

A score is never overwritten: a correction makes a new application version and a new score.
Each row keeps the formula's version (the formula's own text is kept in `formulas`, so a list
can be re-derived years later), the digest of the inputs it was computed from, and each
term's contribution, so the complaint room can say why a family scored as it did.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.applications import Application, ApplicationVersion
from core.db import Base, UTCDateTime, utcnow
from core.programme import Programme, in_beirut
from core.score_requests import ScoreRequest
from scoring.formula import Formula, ScoreResult, load_formula, parse_formula
from scoring.poverty import PovertyIndex, poverty_from_variables
from scoring.variables import HouseholdInput, input_digest


class FormulaRecord(Base):
    """A formula as it was used: its text is what re-derives every score made with it."""

    __tablename__ = "formulas"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    illustrative: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Score(Base):
    """One application version scored with one formula."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("application_id", "version", "formula_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The unique constraint, led by application_id, is also its index.
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    version: Mapped[int] = mapped_column(Integer)  # the application's version
    formula_version: Mapped[str] = mapped_column(ForeignKey("formulas.version"))
    input_digest: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)  # predicted log consumption per person
    poverty_count: Mapped[int] = mapped_column(Integer)  # deprivations, 0-5
    deprived: Mapped[str] = mapped_column(String(80))  # the deprived dimensions, comma-separated
    contributions: Mapped[str] = mapped_column(Text)  # JSON: term -> contribution
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def contribution_map(self) -> dict[str, float]:
        data: dict[str, float] = json.loads(self.contributions)
        return data

    def deprived_dimensions(self) -> tuple[str, ...]:
        return tuple(d for d in self.deprived.split(",") if d)


class FormulaMismatch(ValueError):
    """A formula with this version is already stored with different weights."""


@cache
def formula_at(path: str | None) -> Formula:
    """The formula a process scores with (read once per process)."""
    return load_formula(Path(path) if path else None)


def remember_formula(session: Session, formula: Formula) -> FormulaRecord:
    """Keep the formula's text under its version; one version never means two formulas."""
    record = session.get(FormulaRecord, formula.version)
    if record is None:
        record = FormulaRecord(
            version=formula.version,
            digest=formula.digest,
            illustrative=formula.illustrative,
            text=formula.to_json(),
        )
        session.add(record)
        session.flush()
    elif record.digest != formula.digest:
        raise FormulaMismatch(f"formula {formula.version} is stored with other weights")
    return record


def stored_formula(session: Session, version: str) -> Formula:
    """A formula exactly as it was used, from the store."""
    record = session.get(FormulaRecord, version)
    if record is None:
        raise LookupError(f"no formula {version!r} is stored")
    return parse_formula(record.text)


def scoring_date(programme: Programme) -> date:
    """Ages are counted on the round's opening day (Beirut), so a score never drifts."""
    return in_beirut(programme.opens_at).date()


def household_input(
    pages: dict[str, dict[str, object]], governorate: str | None, as_of: date
) -> HouseholdInput:
    return HouseholdInput(pages=pages, as_of=as_of, governorate=governorate)


def compute(formula: Formula, household: HouseholdInput) -> tuple[ScoreResult, PovertyIndex]:
    """The score and the poverty index of one household (no store involved)."""
    result = formula.score(household)
    return result, poverty_from_variables(result.variables)


def score_application(session: Session, application_id: int, formula: Formula) -> Score | None:
    """Score the application's current version once; None when it no longer exists.

    Safe to run twice: a version already scored with this formula is returned as it was.
    """
    application = session.get(Application, application_id)
    if application is None:
        return None
    existing = score_of(session, application.id, application.version, formula.version)
    if existing is None:
        remember_formula(session, formula)
        existing = _store_score(session, application, formula)
    _mark_requests_done(session, application.id, application.version)
    return existing


def _store_score(session: Session, application: Application, formula: Formula) -> Score:
    programme = session.get_one(Programme, application.programme_id)
    household = household_input(
        application.pages(), application.governorate_code, scoring_date(programme)
    )
    result, index = compute(formula, household)
    score = Score(
        application_id=application.id,
        version=application.version,
        formula_version=formula.version,
        input_digest=input_digest(household),
        value=result.value,
        poverty_count=index.count,
        deprived=",".join(index.deprived),
        contributions=json.dumps(result.contributions),
    )
    session.add(score)
    session.flush()
    return score


def _mark_requests_done(session: Session, application_id: int, version: int) -> None:
    session.execute(
        update(ScoreRequest)
        .where(
            ScoreRequest.application_id == application_id,
            ScoreRequest.version <= version,
            ScoreRequest.done_at.is_(None),
        )
        .values(done_at=utcnow())
    )


def score_of(
    session: Session, application_id: int, version: int, formula_version: str
) -> Score | None:
    stmt = select(Score).where(
        Score.application_id == application_id,
        Score.version == version,
        Score.formula_version == formula_version,
    )
    return session.scalars(stmt).first()


def latest_score(session: Session, application_id: int) -> Score | None:
    """The newest score of the application's current version (what the complaint room reads)."""
    stmt = (
        select(Score)
        .join(Application, Application.id == Score.application_id)
        .where(Score.application_id == application_id, Score.version == Application.version)
        .order_by(Score.id.desc())
    )
    return session.scalars(stmt).first()


def unscored(session: Session, formula_version: str, limit: int = 1000) -> list[tuple[int, int]]:
    """(id, version) of applications whose current version has no score with this formula."""
    scored = select(Score.id).where(
        Score.application_id == Application.id,
        Score.version == Application.version,
        Score.formula_version == formula_version,
    )
    stmt = (
        select(Application.id, Application.version)
        .where(~scored.exists())
        .order_by(Application.id)
        .limit(limit)
    )
    return [(int(i), int(v)) for i, v in session.execute(stmt)]


def version_pages(
    session: Session, application_id: int, version: int
) -> dict[str, dict[str, object]] | None:
    """The data of one version of an application: current, or kept by a correction."""
    application = session.get(Application, application_id)
    if application is None:
        return None
    if application.version == version:
        return application.pages()
    stmt = select(ApplicationVersion).where(
        ApplicationVersion.application_id == application_id, ApplicationVersion.version == version
    )
    kept = session.scalars(stmt).first()
    return kept.pages() if kept else None
