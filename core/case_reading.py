"""Who reads what of the COVID-19 cases: the console's lines and counts, scoped by area.

The counts and the non-personal fields go to every role with VIEW_REPORTS in its area; the
contact number and the note only to VIEW_CASE_DETAILS within its area (`shows_details`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.covid_cases import CaseEvent, CaseReport, CaseStatus, QuarantineCentre
from core.geography import AreaLevel, Locality
from core.roles import Permission
from core.scopes import Viewer, covers, visible


@dataclass(frozen=True)
class CaseLine:
    """A case with the names the console shows beside it."""

    case: CaseReport
    locality_ar: str
    locality_en: str
    centre_name: str | None


def _lines(stmt: Any) -> Any:
    """`stmt` over CaseReport joined to its municipality's names and its centre's name."""
    return (
        stmt.add_columns(Locality.name_ar, Locality.name_en, QuarantineCentre.name)
        .outerjoin(Locality, Locality.code == CaseReport.locality_code)
        .outerjoin(QuarantineCentre, QuarantineCentre.id == CaseReport.centre_id)
    )


def cases_visible_to(
    session: Session, viewer: Viewer, *, status: str | None = None, limit: int = 200
) -> list[CaseLine]:
    """The cases of the viewer's area, newest first."""
    stmt = select(CaseReport)
    if status:
        stmt = stmt.where(CaseReport.status == status)
    stmt = visible(stmt, viewer, CaseReport, Permission.VIEW_REPORTS)
    stmt = _lines(stmt).order_by(CaseReport.reported_at.desc(), CaseReport.id.desc()).limit(limit)
    return [CaseLine(*row) for row in session.execute(stmt)]


def case_for(session: Session, viewer: Viewer, case_id: int) -> CaseLine | None:
    """One case by id if the viewer's area covers it, else None (the page answers 404)."""
    row = session.execute(_lines(select(CaseReport).where(CaseReport.id == case_id))).first()
    if row is None or not covers(viewer, row[0], Permission.VIEW_REPORTS):
        return None
    return CaseLine(*row)


def may_follow_up(viewer: Viewer, case: CaseReport) -> bool:
    """Whether the viewer may record a follow-up: an active case of its own municipality."""
    return case.status == CaseStatus.ACTIVE and covers(viewer, case, Permission.REPORT_CASES)


def shows_details(viewer: Viewer, case: CaseReport) -> bool:
    """Whether the viewer reads the case's contact number and note (see the docstring)."""
    return covers(viewer, case, Permission.VIEW_CASE_DETAILS)


@dataclass(frozen=True)
class EventLine:
    event: CaseEvent
    centre_name: str | None


def events_of(session: Session, case: CaseReport) -> list[EventLine]:
    """A case's follow-ups in the order they were recorded."""
    stmt = (
        select(CaseEvent, QuarantineCentre.name)
        .outerjoin(QuarantineCentre, QuarantineCentre.id == CaseEvent.centre_id)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.id)
    )
    return [EventLine(event, name) for event, name in session.execute(stmt)]


# --- counts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCounts:
    """The cases of an area: active by classification, closed by outcome."""

    active: Counter[str]  # classification -> active cases
    closed: Counter[str]  # outcome -> closed cases

    @property
    def active_total(self) -> int:
        return sum(self.active.values())


def case_counts(session: Session, viewer: Viewer) -> CaseCounts:
    """One grouped count over the viewer's area (indexed by area and status)."""
    stmt = select(
        CaseReport.status, CaseReport.classification, CaseReport.outcome, func.count()
    ).group_by(CaseReport.status, CaseReport.classification, CaseReport.outcome)
    active: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for status, classification, outcome, n in session.execute(
        visible(stmt, viewer, CaseReport, Permission.VIEW_REPORTS)
    ):
        if status == CaseStatus.ACTIVE:
            active[classification] += n
        else:
            closed[outcome or ""] += n
    return CaseCounts(active, closed)


def active_cases_by(session: Session, viewer: Viewer, level: AreaLevel) -> dict[str, int]:
    """Active cases of the viewer's area by governorate, district or locality code."""
    column = {
        AreaLevel.GOVERNORATE: CaseReport.governorate_code,
        AreaLevel.DISTRICT: CaseReport.district_code,
        AreaLevel.LOCALITY: CaseReport.locality_code,
    }[level]
    stmt = (
        select(column, func.count()).where(CaseReport.status == CaseStatus.ACTIVE).group_by(column)
    )
    rows = session.execute(visible(stmt, viewer, CaseReport, Permission.VIEW_REPORTS))
    return {str(code): int(n) for code, n in rows}
