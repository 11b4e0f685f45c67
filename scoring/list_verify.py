"""Re-deriving a stored list from the store, and naming every difference.

What an inspector runs (`lists verify LIST`): every family is read again as the version the
list used (kept in `application_versions` once a correction replaced it), every score is
recomputed with the formula's stored text, and the ranking is run again. A legitimate
correction after the list therefore does not break it; anything changed behind the store's
back, a family dropped or slipped in, or a formula edited under its version, does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationVersion
from scoring.lists import (
    BeneficiaryList,
    Derivation,
    Derived,
    ListEntry,
    Quota,
    Row,
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
    entries = list(
        session.scalars(
            select(ListEntry).where(ListEntry.list_id == list_id).order_by(ListEntry.application_id)
        )
    )
    rows, problems = _rows_as_built(session, entries)
    problems += _membership_problems(session, stored, entries)
    derivation = derive(
        rows,
        stored_formula(session, stored.formula_version),
        stored.budget,
        Quota(stored.quota),
        date.fromisoformat(stored.as_of),
    )
    problems += _line_problems(entries, derivation)
    problems += _digest_problems(stored, derivation)
    return _capped(problems)


def _formula_problems(session: Session, stored: BeneficiaryList) -> list[str]:
    record = session.get(FormulaRecord, stored.formula_version)
    if record is None:
        return [f"formula {stored.formula_version} is no longer stored"]
    if stored_formula(session, record.version).digest != record.digest:
        return [f"formula {record.version} was changed after it was used"]
    return []


def _rows_as_built(session: Session, entries: Sequence[ListEntry]) -> tuple[list[Row], list[str]]:
    ids = [entry.application_id for entry in entries]
    current = (
        {a.id: a for a in session.scalars(select(Application).where(Application.id.in_(ids)))}
        if ids
        else {}
    )
    kept = _kept_versions(
        session, [e for e in entries if _version_of(current, e) != e.application_version]
    )
    rows, problems = [], []
    for entry in entries:
        application = current.get(entry.application_id)
        if application is None:
            problems.append(f"application {entry.application_id} is no longer in the store")
            continue
        if application.version == entry.application_version:
            rows.append(
                _row(
                    application, entry.application_version, application.status, application.pages()
                )
            )
            continue
        version = kept.get((entry.application_id, entry.application_version))
        if version is None:
            missing = entry.application_version
            problems.append(f"application {application.reference}: version {missing} is missing")
            continue
        rows.append(_row(application, entry.application_version, version.status, version.pages()))
    return rows, problems


def _version_of(current: dict[int, Application], entry: ListEntry) -> int | None:
    application = current.get(entry.application_id)
    return application.version if application else None


def _kept_versions(
    session: Session, entries: Sequence[ListEntry]
) -> dict[tuple[int, int], ApplicationVersion]:
    if not entries:
        return {}
    stmt = select(ApplicationVersion).where(
        ApplicationVersion.application_id.in_([e.application_id for e in entries])
    )
    return {(v.application_id, v.version): v for v in session.scalars(stmt)}


def _row(
    application: Application, version: int, status: str, pages: dict[str, dict[str, object]]
) -> Row:
    return Row(
        application.id,
        version,
        application.reference,
        status,
        pages,
        application.governorate_code,
        application.district_code,
    )


def _membership_problems(
    session: Session, stored: BeneficiaryList, entries: Sequence[ListEntry]
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


def _line_problems(entries: Sequence[ListEntry], derivation: Derivation) -> list[str]:
    derived = {line.application_id: line for line in derivation.lines}
    problems = []
    for entry in entries:
        line = derived.get(entry.application_id)
        if line is None:
            continue  # already reported: its application could not be read
        problems += _entry_problems(entry, line)
    return problems


def _entry_problems(entry: ListEntry, line: Derived) -> list[str]:
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
