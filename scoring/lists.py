"""Beneficiary lists: built without human intervention, and re-derivable by anyone auditing.

Circular: the final lists are issued "electronically, without human intervention". A list is
built from every application of a round: the circular's exclusions first (each excluded family
keeps its reason), then the rest ranked poorest first (`scoring.ranking` states the tie rule)
and cut at the budget, optionally by area quotas. The list stores the formula's version and a
digest of every input, so `verify_list` can build it again from the store and name any
difference: a changed application, a changed formula, a family added or dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import numpy as np
from sqlalchemy import Connection, ForeignKey, Integer, String, UniqueConstraint, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.applications import Application
from core.db import Base, UTCDateTime, table, utcnow
from core.programme import Programme
from scoring.digest import digest
from scoring.formula import Formula
from scoring.line_inputs import NEEDS_REVIEW as NEEDS_REVIEW
from scoring.line_inputs import LineInput, Plan, RawRow, collector_paused, line_inputs
from scoring.ranking import rank_columns
from scoring.scores import Score, remember_formula, scoring_date


class Quota(StrEnum):
    """How the budget is shared among areas."""

    NATIONAL = "national"  # one national ranking
    GOVERNORATE = "governorate"  # each governorate in proportion to its eligible families
    DISTRICT = "district"  # each district (qada) likewise


class Outcome(StrEnum):
    """What the list says of one family."""

    SELECTED = "selected"  # within the budget
    NOT_SELECTED = "not_selected"  # eligible, but poorer families took the budget
    EXCLUDED = "excluded"  # an exclusion rule applies (the reason says which)


ABOVE_CUTOFF = "above_cutoff"  # the reason of a family the budget did not reach


class BeneficiaryList(Base):
    """One list built for one round, with what it was built from."""

    __tablename__ = "beneficiary_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    formula_version: Mapped[str] = mapped_column(ForeignKey("formulas.version"))
    budget: Mapped[int] = mapped_column(Integer)  # families the programme can pay for
    quota: Mapped[str] = mapped_column(String(12))
    as_of: Mapped[str] = mapped_column(String(10))  # ISO date ages were counted on
    input_digest: Mapped[str] = mapped_column(String(64))
    result_digest: Mapped[str] = mapped_column(String(64))
    families: Mapped[int] = mapped_column(Integer)
    selected: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ListEntry(Base):
    """One family on one list: selected, not selected, or excluded, and why."""

    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("list_id", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The unique constraint, led by list_id, is also its index.
    list_id: Mapped[int] = mapped_column(ForeignKey("beneficiary_lists.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    application_version: Mapped[int] = mapped_column(Integer)
    input_digest: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column()  # None for an excluded family
    poverty_count: Mapped[int | None] = mapped_column(Integer)
    area: Mapped[str] = mapped_column(String(8))  # the quota area ("" nationally)
    rank: Mapped[int | None] = mapped_column(Integer)  # within the area; None when excluded
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its SMS is owed


@dataclass(frozen=True)
class Derived:
    """One family's line as derived from its row."""

    application_id: int
    version: int
    input_digest: str
    outcome: Outcome
    reason: str | None
    score: float | None
    poverty_count: int | None
    area: str
    rank: int | None

    def as_list(self) -> list[object]:
        return [
            self.application_id,
            self.version,
            self.input_digest,
            self.outcome,
            self.reason,
            self.score,
            self.poverty_count,
            self.area,
            self.rank,
        ]


@dataclass(frozen=True)
class Derivation:
    lines: list[Derived]
    input_digest: str
    result_digest: str


_INSERT_ENTRY = insert(table(ListEntry))
ENTRY_BATCH = 5000


class NoProgramme(LookupError):
    """No round has this code."""


# --- deriving: the one path both build and verify take ------------------------------------


def derive(
    inputs: Sequence[LineInput], formula_digest: str, budget: int, quota: Quota, as_of: date
) -> Derivation:
    """The list these families make (their inputs from `scoring.line_inputs`)."""
    lines = _rank_lines(inputs, budget, quota)
    entries = [[line.application_id, line.version, line.input_digest] for line in lines]
    return Derivation(
        lines=lines,
        input_digest=digest(
            [entries, formula_digest, budget, str(quota), as_of.isoformat()], parsed=True
        ),
        result_digest=digest([line.as_list() for line in lines], parsed=True),
    )


def _area(family: LineInput, quota: Quota) -> str:
    if quota is Quota.GOVERNORATE:
        return family.governorate or ""
    if quota is Quota.DISTRICT:
        return family.district or ""
    return ""


def _rank_lines(inputs: Sequence[LineInput], budget: int, quota: Quota) -> list[Derived]:
    eligible = [f for f in inputs if f.reason is None and f.score is not None]
    placed: dict[int, tuple[int, bool]] = {}
    if eligible:
        ranks, chosen = rank_columns(*_columns(eligible, quota), budget)
        keys = (f.application_id for f in eligible)
        placed = dict(zip(keys, zip(ranks.tolist(), chosen.tolist(), strict=True), strict=True))
    lines = [_line(family, placed.get(family.application_id), quota) for family in inputs]
    lines.sort(key=lambda line: line.application_id)
    return lines


def _columns(
    eligible: Sequence[LineInput], quota: Quota
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ranking's columns (`scoring.ranking` states the tie rule)."""
    n = len(eligible)
    return (
        np.fromiter((f.score or 0.0 for f in eligible), dtype=np.float64, count=n),
        np.fromiter((f.poverty_count or 0 for f in eligible), dtype=np.int64, count=n),
        np.fromiter((f.size for f in eligible), dtype=np.int64, count=n),
        np.array([f.reference for f in eligible], dtype=str),
        np.array([_area(f, quota) for f in eligible], dtype=str),
    )


def _line(family: LineInput, placed: tuple[int, bool] | None, quota: Quota) -> Derived:
    if placed is None:
        outcome, why, rank = Outcome.EXCLUDED, family.reason, None
    else:
        rank, selected = placed
        outcome = Outcome.SELECTED if selected else Outcome.NOT_SELECTED
        why = None if selected else ABOVE_CUTOFF
    return Derived(
        family.application_id,
        family.version,
        family.input_digest,
        outcome,
        why,
        family.score,
        family.poverty_count,
        _area(family, quota),
        rank,
    )


# --- the store side -------------------------------------------------------------------------


def programme_by_code(session: Session, code: str) -> Programme:
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise NoProgramme(code)
    return programme


def round_ids(conn: Connection, programme_id: int, until: datetime) -> list[int]:
    """The ids of the round's applications submitted by `until`, in order."""
    a = Application
    stmt = select(a.id).where(a.programme_id == programme_id, a.submitted_at <= until)
    return list(conn.execute(stmt.order_by(a.id)).scalars())


@dataclass(frozen=True)
class RoundReader:
    """Reads a range of the round's applications as they stand, with each one's stored
    score by this formula (a plain object: forked workers call it on their connection)."""

    programme_id: int
    formula_version: str
    until: datetime

    def __call__(self, conn: Connection, lo: int, hi: int) -> list[RawRow]:
        a, s = Application, Score
        scored = (
            (s.application_id == a.id)
            & (s.version == a.version)
            & (s.formula_version == self.formula_version)
        )
        stmt = (
            select(
                a.id,
                a.version,
                a.reference,
                a.status,
                a.data,
                a.governorate_code,
                a.district_code,
                s.input_digest,
                s.value,
                s.poverty_count,
            )
            .outerjoin(s, scored)
            .where(a.programme_id == self.programme_id, a.submitted_at <= self.until)
            .where(a.id >= lo, a.id < hi)
            .order_by(a.id)
        )
        return [RawRow._make(row) for row in conn.execute(stmt)]


def build_list(
    session: Session, programme: Programme, budget: int, quota: Quota, formula: Formula
) -> BeneficiaryList:
    """Derive and store the round's list; stored scores of the same inputs are reused."""
    remember_formula(session, formula)
    as_of = scoring_date(programme)
    built_at = utcnow()
    conn = session.connection()
    reader = RoundReader(programme.id, formula.version, built_at)
    with collector_paused():
        ids = round_ids(conn, programme.id, built_at)
        inputs = line_inputs(conn, ids, Plan(formula, as_of, reader))
        derivation = derive(inputs, formula.digest, budget, quota, as_of)
        del inputs
    stored = BeneficiaryList(
        programme_id=programme.id,
        formula_version=formula.version,
        budget=budget,
        quota=str(quota),
        as_of=as_of.isoformat(),
        input_digest=derivation.input_digest,
        result_digest=derivation.result_digest,
        families=len(derivation.lines),
        selected=sum(line.outcome is Outcome.SELECTED for line in derivation.lines),
        built_at=built_at,
    )
    session.add(stored)
    session.flush()
    with collector_paused():
        store_entries(session, stored.id, derivation.lines)
    return stored


def store_entries(session: Session, list_id: int, lines: Sequence[Derived]) -> None:
    """A national list is a million rows: PostgreSQL takes them by COPY in the session's
    transaction (its driver would send a million INSERTs), SQLite in batches."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        _copy_entries(conn, list_id, lines)
        return
    for start in range(0, len(lines), ENTRY_BATCH):
        batch = lines[start : start + ENTRY_BATCH]
        session.execute(_INSERT_ENTRY, [_entry(list_id, line) for line in batch])


_COPY_ENTRIES = (
    "COPY list_entries (list_id, application_id, application_version, input_digest, outcome,"
    " reason, score, poverty_count, area, rank) FROM STDIN"
)


def _copy_entries(conn: Connection, list_id: int, lines: Sequence[Derived]) -> None:
    driver = conn.connection.driver_connection  # psycopg's, in the session's transaction
    with driver.cursor() as cursor, cursor.copy(_COPY_ENTRIES) as copy:  # type: ignore[union-attr]
        for line in lines:
            values = line.as_list()  # the columns after list_id, in order
            values[3] = str(line.outcome)
            copy.write_row([list_id, *values])


def _entry(list_id: int, line: Derived) -> dict[str, object]:
    return dict(
        list_id=list_id,
        application_id=line.application_id,
        application_version=line.version,
        input_digest=line.input_digest,
        outcome=str(line.outcome),
        reason=line.reason,
        score=line.score,
        poverty_count=line.poverty_count,
        area=line.area,
        rank=line.rank,
        notified_at=None,
    )
