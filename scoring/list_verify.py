"""Re-deriving a stored list from the store, and naming every difference.

What an inspector runs (`lists verify LIST`): every family is read again as the version the
list used (kept in `application_versions` once a correction replaced it), every score is
recomputed with the formula's stored text, and the ranking is run again. A legitimate
correction after the list therefore does not break it; anything changed behind the store's
back, a family dropped or slipped in, or a formula edited under its version, does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationVersion
from scoring.line_inputs import Plan, RawRow, collector_paused, line_inputs
from scoring.lists import (
    BeneficiaryList,
    Derivation,
    Derived,
    ListEntry,
    Quota,
    derive,
)
from scoring.scores import FormulaRecord, stored_formula

MAX_REPORTED = 50  # differences named one by one; the rest are counted


class UnknownList(LookupError):
    """No list has this number."""


def verify_list(session: Session, list_id: int) -> list[str]:
    """Every difference between the stored list and the list derived again (none: it holds)."""
    stored = session.get(BeneficiaryList, list_id)
    if stored is None:
        raise UnknownList(list_id)
    problems = _formula_problems(session, stored)
    if problems:
        return problems
    with collector_paused():
        return _capped(_derived_again(session, stored))


def _derived_again(session: Session, stored: BeneficiaryList) -> list[str]:
    list_id = stored.id
    formula = stored_formula(session, stored.formula_version)
    as_of = date.fromisoformat(stored.as_of)
    conn = session.connection()
    entries = _entries(conn, list_id)
    problems = _unreadable(session, entries)
    readable = [e.application_id for e in entries if e.current_version is not None]
    inputs = line_inputs(conn, readable, Plan(formula, as_of, ListReader(list_id)))
    problems += _membership_problems(session, stored, entries)
    derivation = derive(inputs, formula.digest, stored.budget, Quota(stored.quota), as_of)
    problems += _line_problems(entries, derivation)
    return problems + _digest_problems(stored, derivation)


def _formula_problems(session: Session, stored: BeneficiaryList) -> list[str]:
    record = session.get(FormulaRecord, stored.formula_version)
    if record is None:
        return [f"formula {stored.formula_version} is no longer stored"]
    if stored_formula(session, record.version).digest != record.digest:
        return [f"formula {record.version} was changed after it was used"]
    return []


class Entry(NamedTuple):
    """A stored line, with the version and reference of its application now (None: gone)."""

    application_id: int
    application_version: int
    input_digest: str
    outcome: str
    reason: str | None
    score: float | None
    poverty_count: int | None
    area: str
    rank: int | None
    current_version: int | None
    reference: str | None


def _entries(conn: Connection, list_id: int) -> list[Entry]:
    """The list's lines: columns only, a national list has a million."""
    e, a = ListEntry, Application
    stmt = (
        select(
            e.application_id,
            e.application_version,
            e.input_digest,
            e.outcome,
            e.reason,
            e.score,
            e.poverty_count,
            e.area,
            e.rank,
            a.version,
            a.reference,
        )
        .outerjoin(a, a.id == e.application_id)
        .where(e.list_id == list_id)
        .order_by(e.application_id)
    )
    return [Entry(*row) for row in conn.execute(stmt)]


def _unreadable(session: Session, entries: Sequence[Entry]) -> list[str]:
    """Lines whose application, or the version the list read, is no longer stored."""
    replaced = [e for e in entries if e.current_version not in (None, e.application_version)]
    kept = _kept_versions(session, replaced)
    problems = []
    for entry in entries:
        if entry.current_version is None:
            problems.append(f"application {entry.application_id} is no longer in the store")
        elif entry.current_version != entry.application_version and (
            (entry.application_id, entry.application_version) not in kept
        ):
            missing = entry.application_version
            problems.append(f"application {entry.reference}: version {missing} is missing")
    return problems


def _kept_versions(session: Session, entries: Sequence[Entry]) -> set[tuple[int, int]]:
    if not entries:
        return set()
    v = ApplicationVersion
    stmt = select(v.application_id, v.version).where(
        v.application_id.in_([e.application_id for e in entries])
    )
    return {(int(i), int(n)) for i, n in session.execute(stmt)}


@dataclass(frozen=True)
class ListReader:
    """Reads a range of a list's families as the list read them: the application as it
    stands, or the version a correction has since replaced (a plain object: forked workers
    call it on their connection). A family whose version is gone is left out (reported)."""

    list_id: int

    def __call__(self, conn: Connection, lo: int, hi: int) -> list[RawRow]:
        e, a, v = ListEntry, Application, ApplicationVersion
        kept = (v.application_id == e.application_id) & (v.version == e.application_version)
        stmt = (
            select(
                a.id,
                e.application_version,
                a.reference,
                a.version,
                a.status,
                a.data,
                v.status,
                v.data,
                a.governorate_code,
                a.district_code,
            )
            .join(a, a.id == e.application_id)
            .outerjoin(v, kept & (a.version != e.application_version))
            .where(e.list_id == self.list_id, e.application_id >= lo, e.application_id < hi)
            .order_by(e.application_id)
        )
        rows = (_as_read(tuple(row)) for row in conn.execute(stmt))
        return [row for row in rows if row is not None]


def _as_read(row: tuple[Any, ...]) -> RawRow | None:
    """The row as the list read it; None when that version is gone (`_unreadable` says so)."""
    i, version, ref, now, status, data, old_status, old_data, gov, district = row
    if now == version:
        return RawRow(i, version, ref, status, data, gov, district)
    if old_data is None or old_status is None:
        return None
    return RawRow(i, version, ref, old_status, old_data, gov, district)


def _membership_problems(
    session: Session, stored: BeneficiaryList, entries: Sequence[Entry]
) -> list[str]:
    """Every application of the round submitted before the build is on the list, once."""
    stmt = select(Application.id, Application.reference).where(
        Application.programme_id == stored.programme_id,
        Application.submitted_at <= stored.built_at,
    )
    expected = {int(i): str(r) for i, r in session.execute(stmt)}
    listed = {entry.application_id for entry in entries}
    missing = sorted(set(expected) - listed)
    problems = [
        f"application {expected[i]} was submitted before the list but is not on it" for i in missing
    ]
    if len(entries) != stored.families:
        problems.append(
            f"the list holds {len(entries)} families, not the {stored.families} it was built with"
        )
    return problems


def _line_problems(entries: Sequence[Entry], derivation: Derivation) -> list[str]:
    derived = {line.application_id: line for line in derivation.lines}
    problems = []
    for entry in entries:
        line = derived.get(entry.application_id)
        if line is None:
            continue  # already reported: its application could not be read
        problems += _entry_problems(entry, line)
    return problems


def _entry_problems(entry: Entry, line: Derived) -> list[str]:
    who = f"application {entry.application_id}"
    checks = (
        ("inputs", entry.input_digest, line.input_digest),
        ("outcome", entry.outcome, str(line.outcome)),
        ("reason", entry.reason, line.reason),
        ("score", entry.score, line.score),
        ("poverty index", entry.poverty_count, line.poverty_count),
        ("area", entry.area, line.area),
        ("rank", entry.rank, line.rank),
    )
    return [
        f"{who}: {name} stored as {_short(kept)}, derived as {_short(again)}"
        for name, kept, again in checks
        if kept != again
    ]


def _short(value: object) -> str:
    text = str(value)
    return text[:12] + "…" if len(text) > 16 else text


def _digest_problems(stored: BeneficiaryList, derivation: Derivation) -> list[str]:
    problems = []
    if derivation.input_digest != stored.input_digest:
        problems.append("the list's input digest differs from its inputs derived again")
    if derivation.result_digest != stored.result_digest:
        problems.append("the list's result digest differs from the list derived again")
    return problems


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_REPORTED:
        return problems
    hidden = len(problems) - MAX_REPORTED
    return [*problems[:MAX_REPORTED], f"… and {hidden} more differences"]
