"""Balances of donations per area: received, allocated and remaining, per kind of goods or
currency, rolled up the way the dashboards count.

A viewer's balances are broken down by the next level down (the country by governorate, a
governorate by district, a district by municipality; a municipality is its own one row), and
added up over its whole area. The ministry's national donations have no area: in the country's
balances they are a row of their own ("national"), and no narrower viewer counts them. Goods
are told apart by what they are and their unit as typed ("Rice", "kg"); cash by its currency:
amounts in two currencies are never added together.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.donations import Donation, hundredths_to_decimal
from core.geography import AreaLevel
from core.roles import Permission, can
from core.scopes import Viewer, area_condition

NATIONAL_ROW = ""  # the row of the ministry's donations, which carry no area
TOTAL_ROW = "total"  # the area of a row of `totals`: the whole of the viewer's area


@dataclass(frozen=True)
class Balance:
    """One kind of goods (or one currency) in one area."""

    area: str  # a child area's code, or NATIONAL_ROW
    kind: str
    what: str
    unit: str
    received: Decimal
    allocated: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.received - self.allocated


def _child_column(level: AreaLevel) -> InstrumentedAttribute[str | None]:
    """The column that names the next level down from a viewer at `level`."""
    if level is AreaLevel.NATIONAL:
        return Donation.governorate_code
    if level is AreaLevel.GOVERNORATE:
        return Donation.district_code
    return Donation.locality_code


def balances(session: Session, viewer: Viewer) -> list[Balance]:
    """The viewer's area's balances by child area and by goods or currency (one statement)."""
    if not can(viewer.role, Permission.VIEW_DONATIONS):
        return []
    child = func.coalesce(_child_column(viewer.area.level), NATIONAL_ROW)
    keys = (child, Donation.kind, Donation.what, Donation.unit)
    stmt = (
        select(*keys, func.sum(Donation.hundredths), func.sum(Donation.allocated_hundredths))
        .where(area_condition(Donation, viewer.area))
        .group_by(*keys)
        .order_by(*keys)
    )
    return [
        Balance(
            str(area),
            str(kind),
            str(what),
            str(unit),
            hundredths_to_decimal(int(received)),
            hundredths_to_decimal(int(allocated)),
        )
        for area, kind, what, unit, received, allocated in session.execute(stmt)
    ]


def totals(rows: list[Balance]) -> list[Balance]:
    """The same balances added up over the areas: one row per goods or currency."""
    summed: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
    for row in rows:
        key = (row.kind, row.what, row.unit)
        received, allocated = summed.get(key, (Decimal(0), Decimal(0)))
        summed[key] = (received + row.received, allocated + row.allocated)
    return [
        Balance(TOTAL_ROW, kind, what, unit, received, allocated)
        for (kind, what, unit), (received, allocated) in sorted(summed.items())
    ]
