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
    Insert,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.applications import Application
from core.clock import beirut_day
from core.db import Base, UTCDateTime, table, utcnow
from core.programme import Programme
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
    return opening_day(programme.opens_at)


def opening_day(opens_at: datetime) -> date:
    return beirut_day(opens_at)


def household_input(
    pages: dict[str, dict[str, object]], governorate: str | None, as_of: date
) -> HouseholdInput:
    return HouseholdInput(pages=pages, as_of=as_of, governorate=governorate)


def compute(formula: Formula, household: HouseholdInput) -> tuple[ScoreResult, PovertyIndex]:
    """The score and the poverty index of one household (no store involved)."""
    result = formula.score(household)
    return result, poverty_from_variables(result.variables)


def store_score(session: Session, application_id: int, formula: Formula) -> Score | None:
    """Score the application's current version once; None when it no longer exists.

    Safe to run twice: a version already scored with this formula is returned as it was.
    The worker runs this for every submission, so it is two statements: the application
    with its round's opening, and the insert (which skips a score already there). The
    formula must be stored already (`remember_formula`).
    """
    found = session.execute(
        select(Application, Programme.opens_at)
        .join(Programme, Programme.id == Application.programme_id)
        .where(Application.id == application_id)
    ).first()
    if found is None:
        return None
    application, opens_at = found[0], found[1]
    household = household_input(
        application.pages(), application.governorate_code, opening_day(opens_at)
    )
    values = _score_values(application, formula, household)
    inserted = session.execute(_insert_score(session), values).scalar()
    if inserted is None:  # scored already, by an earlier run or another worker
        return score_of(session, application.id, application.version, formula.version)
    return Score(id=inserted, **values)


def _score_values(
    application: Application, formula: Formula, household: HouseholdInput
) -> dict[str, object]:
    result, index = compute(formula, household)
    return {
        "application_id": application.id,
        "version": application.version,
        "formula_version": formula.version,
        "input_digest": input_digest(household),
        "value": result.value,
        "poverty_count": index.count,
        "deprived": ",".join(index.deprived),
        "contributions": json.dumps(result.contributions),
        "scored_at": utcnow(),
    }


def _insert_score(session: Session) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING id` for this session's database."""
    return _insert_for(session.get_bind().dialect.name)


@cache
def _insert_for(dialect: str) -> Insert:
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    scores = table(Score)
    return (
        upsert(scores)
        .on_conflict_do_nothing(index_elements=["application_id", "version", "formula_version"])
        .returning(scores.c.id)
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
