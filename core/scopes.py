"""The one scoping rule: every query that returns personal data is narrowed here.

A record that holds personal data carries the area it belongs to (`AreaScoped`). A viewer sees
it only when the viewer's role has the permission asked for and the record lies inside the
viewer's area. A record with no area (an SMS from an unknown number) is national: only
national viewers see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from core.geography import Area, AreaLevel
from core.roles import Permission, Role, can

S = TypeVar("S", bound=Select)  # type: ignore[type-arg]  # any Select, whatever it selects

# The column of a record that must equal the code of a viewer's area at each level.
_COLUMN = {
    AreaLevel.GOVERNORATE: "governorate_code",
    AreaLevel.DISTRICT: "district_code",
    AreaLevel.LOCALITY: "locality_code",
}


class AreaScoped:
    """Mixin for records of personal data: the area they belong to, with every parent."""

    governorate_code: Mapped[str | None] = mapped_column(String(8), index=True)
    district_code: Mapped[str | None] = mapped_column(String(8), index=True)
    locality_code: Mapped[str | None] = mapped_column(String(8), index=True)

    def place_in(self, area: Area) -> None:
        """Tie this record to an area (normally a locality)."""
        self.governorate_code = area.governorate_code
        self.district_code = area.district_code
        self.locality_code = area.locality_code


class Viewer(Protocol):
    """Whoever asks: a staff user (or anything with a role and an area)."""

    @property
    def role(self) -> Role: ...

    @property
    def area(self) -> Area: ...


@dataclass(frozen=True)
class Viewpoint:
    """A viewer's role and area as plain values, for work that outlives the viewer's session
    (a streamed export reads after the request's session has closed)."""

    role: Role
    area: Area


def viewpoint(viewer: Viewer) -> Viewpoint:
    return Viewpoint(viewer.role, viewer.area)


def area_condition(model: type[AreaScoped], area: Area) -> ColumnElement[bool]:
    """The condition that puts a record of `model` inside `area`."""
    if area.level is AreaLevel.NATIONAL:
        return true()
    column: ColumnElement[str | None] = getattr(model, _COLUMN[area.level])
    return column == area.code


def visible(stmt: S, viewer: Viewer, model: type[AreaScoped], permission: Permission) -> S:
    """Narrow `stmt` over `model` to what `viewer` may see with `permission`."""
    if not can(viewer.role, permission):
        return stmt.where(false())
    return stmt.where(area_condition(model, viewer.area))


class OutsideArea(PermissionError):
    """The record (a case, a centre, a voucher) lies outside the area the user may write for:
    what a write refuses when `covers` says no."""


def covers(viewer: Viewer, record: AreaScoped, permission: Permission) -> bool:
    """The same rule for one record already loaded (e.g. fetched by id from a URL)."""
    if not can(viewer.role, permission):
        return False
    area = viewer.area
    if area.level is AreaLevel.NATIONAL:
        return True
    return bool(getattr(record, _COLUMN[area.level]) == area.code)
