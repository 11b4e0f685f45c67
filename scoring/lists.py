"""Beneficiary lists: built without human intervention, and re-derivable by anyone auditing.

Circular: the final lists are issued "electronically, without human intervention". A list is
built from every application of a round: the circular's exclusions first (each excluded family
keeps its reason), then the rest ranked poorest first (`scoring.ranking` states the tie rule)
and cut at the budget, optionally by area quotas. The list stores the formula's version and a
digest of every input, so `verify_list` can build it again from the store and name any
difference: a changed application, a changed formula, a family added or dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.applications import Application, ApplicationStatus
from core.db import Base, UTCDateTime, table, utcnow
from core.household import household_size, ineligibility
from core.programme import Programme
from scoring.digest import digest
from scoring.formula import Formula
from scoring.ranking import Candidate, rank
from scoring.scores import (
    Score,
    compute,
    household_input,
    remember_formula,
    scoring_date,
)
from scoring.variables import input_digest


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


NEEDS_REVIEW = "needs_review"  # an exclusion reason: a member is on another family's form
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
class Row:
    """One application as a list is derived from it."""

    application_id: int
    version: int
    reference: str
    status: str
    pages: dict[str, dict[str, object]]
    governorate: str | None
    district: str | None


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
    rows: Sequence[Row],
    formula: Formula,
    budget: int,
    quota: Quota,
    as_of: date,
    known_scores: dict[tuple[int, int, str], tuple[float, int]] | None = None,
) -> Derivation:
    """The list these rows make; `known_scores` may spare recomputing a stored score."""
    pending: list[tuple[Row, str, str | None, float | None, int | None]] = []
    for row in rows:
        household = household_input(row.pages, row.governorate, as_of)
        digest_ = input_digest(household)
        reason = _exclusion(row)
        if reason is not None:
            pending.append((row, digest_, reason, None, None))
            continue
        stored = (known_scores or {}).get((row.application_id, row.version, digest_))
        if stored is not None:
            pending.append((row, digest_, None, stored[0], stored[1]))
        else:
            result, index = compute(formula, household)
            pending.append((row, digest_, None, result.value, index.count))
    lines = _rank_lines(pending, budget, quota)
    inputs = [[line.application_id, line.version, line.input_digest] for line in lines]
    return Derivation(
        lines=lines,
        input_digest=digest([inputs, formula.digest, budget, str(quota), as_of.isoformat()]),
        result_digest=digest([line.as_list() for line in lines]),
    )


def _exclusion(row: Row) -> str | None:
    # Circular part 5.1(f) first; then a member overlap the committee has not cleared.
    reason = ineligibility(row.pages)
    if reason is not None:
        return str(reason)
    return NEEDS_REVIEW if row.status == ApplicationStatus.NEEDS_REVIEW else None


def _area(row: Row, quota: Quota) -> str:
    if quota is Quota.GOVERNORATE:
        return row.governorate or ""
    if quota is Quota.DISTRICT:
        return row.district or ""
    return ""


def _rank_lines(
    pending: list[tuple[Row, str, str | None, float | None, int | None]], budget: int, quota: Quota
) -> list[Derived]:
    candidates = [
        Candidate(
            row.application_id,
            score,
            count or 0,
            household_size(row.pages),
            row.reference,
            _area(row, quota),
        )
        for row, _digest, reason, score, count in pending
        if reason is None and score is not None
    ]
    ranked = {r.key: r for r in rank(candidates, budget)}
    lines = []
    for row, digest_, reason, score, count in pending:
        placed = ranked.get(row.application_id)
        if placed is None:
            outcome, why = Outcome.EXCLUDED, reason
        else:
            outcome = Outcome.SELECTED if placed.selected else Outcome.NOT_SELECTED
            why = None if placed.selected else ABOVE_CUTOFF
        lines.append(
            Derived(
                row.application_id,
                row.version,
                digest_,
                outcome,
                why,
                score,
                count,
                _area(row, quota),
                placed.rank if placed else None,
            )
        )
    lines.sort(key=lambda line: line.application_id)
    return lines


# --- the store side -------------------------------------------------------------------------


def programme_by_code(session: Session, code: str) -> Programme:
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise NoProgramme(code)
    return programme


def current_rows(
    session: Session, programme_id: int, until: datetime | None = None
) -> Iterator[Row]:
    """Every application of the round as it stands (submitted by `until`, if given)."""
    a = Application
    stmt = select(
        a.id, a.version, a.reference, a.status, a.data, a.governorate_code, a.district_code
    ).where(a.programme_id == programme_id)
    if until is not None:
        stmt = stmt.where(a.submitted_at <= until)
    for row in session.execute(stmt.order_by(a.id).execution_options(yield_per=5000)):
        yield Row(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])


def build_list(
    session: Session, programme: Programme, budget: int, quota: Quota, formula: Formula
) -> BeneficiaryList:
    """Derive and store the round's list; stored scores of the same inputs are reused."""
    remember_formula(session, formula)
    as_of = scoring_date(programme)
    built_at = utcnow()
    rows = list(current_rows(session, programme.id, until=built_at))
    derivation = derive(rows, formula, budget, quota, as_of, _known_scores(session, formula))
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
    entries = [_entry(stored.id, line) for line in derivation.lines]
    for start in range(0, len(entries), ENTRY_BATCH):  # a national list is a million rows
        session.execute(_INSERT_ENTRY, entries[start : start + ENTRY_BATCH])
    return stored


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


def _known_scores(
    session: Session, formula: Formula
) -> dict[tuple[int, int, str], tuple[float, int]]:
    """Stored scores by (application, version, inputs): columns only, a round has a million."""
    stmt = select(
        Score.application_id, Score.version, Score.input_digest, Score.value, Score.poverty_count
    ).where(Score.formula_version == formula.version)
    rows = session.execute(stmt.execution_options(yield_per=10_000))
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}
