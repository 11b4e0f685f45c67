"""A municipality's quarantine centres: beds, people in them, and whether they can take more.

Occupancy is the centre's own figure, entered by the focal point with the capacity and the
readiness, not derived from the cases placed there: a centre also holds contacts and
travellers in quarantine who are no case of this service. The count of active cases placed
in each centre is shown beside it (`CentreLine.active_cases`) so the two can be reconciled.
A centre's name is fixed once added (cases refer to it); its figures change as often as
needed, each change audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.covid_cases import (
    NO_CONTEXT,
    CaseReport,
    CaseStatus,
    HealthInvalid,
    HealthProblem,
    QuarantineCentre,
    Readiness,
)
from core.db import utcnow
from core.fields import Cleaner, FieldError, FormInput, choice, clean_fields, number, text
from core.geography import AreaLevel, Locality
from core.roles import Permission, can
from core.scopes import OutsideArea, Viewer, covers, visible
from core.users import StaffUser

MAX_NAME = 120  # the column's width: "École publique de Chiyah, deuxième étage" fits
MAX_BEDS = 2000  # far above the largest centre a municipality opened in 2020 (a few hundred)

_FIGURES: dict[str, Cleaner] = {
    "capacity": number(1, MAX_BEDS),
    "occupancy": number(0, MAX_BEDS),
    "readiness": choice(tuple(Readiness)),
}
_NEW: dict[str, Cleaner] = {"name": text(MAX_NAME), **_FIGURES}


@dataclass(frozen=True)
class CentreLine:
    """A centre as the console lists it: its municipality's names and its active cases."""

    centre: QuarantineCentre
    locality_ar: str
    locality_en: str
    active_cases: int


def _clean(fields: Mapping[str, Cleaner], form: FormInput) -> dict[str, Any]:
    """The posted fields, or HealthInvalid naming each refused one; occupancy fits the beds."""
    data, errors = clean_fields(fields, form, NO_CONTEXT)
    capacity, occupancy = data.get("capacity"), data.get("occupancy")
    if isinstance(capacity, int) and isinstance(occupancy, int) and occupancy > capacity:
        errors.append(FieldError("occupancy", HealthProblem.OVER_CAPACITY, {"capacity": capacity}))
    if errors:
        raise HealthInvalid(errors)
    return data


def _municipality_writer(user: StaffUser) -> None:
    """Only a municipality's own staff with REPORT_CASES add or change its centres."""
    if not can(user.role, Permission.REPORT_CASES) or user.area.level is not AreaLevel.LOCALITY:
        raise OutsideArea()


def add_centre(session: Session, user: StaffUser, form: FormInput) -> QuarantineCentre:
    """A new centre of the user's municipality; its name is unique there."""
    _municipality_writer(user)
    data = _clean(_NEW, form)
    taken = select(QuarantineCentre.id).where(
        QuarantineCentre.locality_code == user.area.locality_code,
        QuarantineCentre.name == data["name"],
    )
    if session.scalar(taken) is not None:
        raise HealthInvalid([FieldError("name", HealthProblem.DUPLICATE_NAME)])
    centre = QuarantineCentre(**data, updated_by_id=user.id)
    centre.place_in(user.area)
    session.add(centre)
    session.flush()
    _audit(session, user, "centre.added", centre)
    return centre


def update_centre(
    session: Session, user: StaffUser, centre: QuarantineCentre, form: FormInput
) -> None:
    """New capacity, occupancy and readiness, all three checked together."""
    if not covers(user, centre, Permission.REPORT_CASES):
        raise OutsideArea()
    data = _clean(_FIGURES, form)
    centre.capacity, centre.occupancy = data["capacity"], data["occupancy"]
    centre.readiness, centre.updated_at, centre.updated_by_id = data["readiness"], utcnow(), user.id
    session.flush()
    _audit(session, user, "centre.updated", centre)


def _audit(session: Session, user: StaffUser, action: str, centre: QuarantineCentre) -> None:
    details: dict[str, audit.Scalar] = {
        "locality": centre.locality_code or "",
        "capacity": centre.capacity,
        "occupancy": centre.occupancy,
        "readiness": centre.readiness,
    }
    audit.record(session, user.username, action, "centre", str(centre.id), details)


# --- reading --------------------------------------------------------------------------------


def centres_visible_to(session: Session, viewer: Viewer, limit: int = 500) -> list[CentreLine]:
    """The centres of the viewer's area, by municipality then name, with their active cases."""
    active = (
        select(CaseReport.centre_id, func.count().label("n"))
        .where(CaseReport.status == CaseStatus.ACTIVE, CaseReport.centre_id.is_not(None))
        .group_by(CaseReport.centre_id)
        .subquery()
    )
    stmt = (
        select(QuarantineCentre, Locality.name_ar, Locality.name_en, active.c.n)
        .join(Locality, Locality.code == QuarantineCentre.locality_code)
        .outerjoin(active, active.c.centre_id == QuarantineCentre.id)
        .order_by(Locality.name_en, QuarantineCentre.name, QuarantineCentre.id)
        .limit(limit)
    )
    rows = session.execute(visible(stmt, viewer, QuarantineCentre, Permission.VIEW_REPORTS))
    return [CentreLine(centre, ar, en, n or 0) for centre, ar, en, n in rows]


def centres_of(session: Session, locality_code: str | None) -> list[QuarantineCentre]:
    """One municipality's centres, by name: the choices where a case may be isolated."""
    stmt = (
        select(QuarantineCentre)
        .where(QuarantineCentre.locality_code == locality_code)
        .order_by(QuarantineCentre.name, QuarantineCentre.id)
    )
    return list(session.scalars(stmt))


def centre_for(
    session: Session, viewer: Viewer, centre_id: int, permission: Permission
) -> QuarantineCentre | None:
    """One centre by id if the viewer's area covers it with `permission`, else None (404)."""
    centre = session.get(QuarantineCentre, centre_id)
    if centre is None or not covers(viewer, centre, permission):
        return None
    return centre
