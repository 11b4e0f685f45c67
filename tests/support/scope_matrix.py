"""The scope matrix's places and viewers, shared by every module that tests a scoped record.

Circular part 2, item 2: no municipality sees another's data; a qaimaqam sees the district's
municipalities, a governor the governorate only. A record is seeded in each of `PLACES`
(`NO_AREA`: a record with no area) and each viewer of `MATRIX` must see exactly its set.
"""

from __future__ import annotations

from core.roles import Role
from tests.support.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    NORTH,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
)

NO_AREA = "none"
PLACES = (HOME, SAME_DISTRICT, SAME_GOVERNORATE, ELSEWHERE, AKKAR, NORTH, NO_AREA)
EVERYWHERE = set(PLACES)

# role, the account's area, what it sees of the SMS/call log
MATRIX = [
    (Role.FOCAL_POINT, HOME, {HOME}),
    (Role.MUKHTAR, HOME, {HOME}),
    (Role.VOLUNTEER, HOME, {HOME}),
    (Role.FOCAL_POINT, ELSEWHERE, {ELSEWHERE}),
    (Role.QAIMAQAM, "LB32", {HOME, SAME_DISTRICT}),
    (Role.QAIMAQAM, "LB51", {AKKAR}),
    (Role.GOVERNOR, "LB3", {HOME, SAME_DISTRICT, SAME_GOVERNORATE}),
    (Role.GOVERNOR, "LB7", {AKKAR}),  # Akkar district LB51 belongs to governorate LB7
    (Role.GOVERNOR, "LB5", {NORTH}),  # North: not Akkar, though Akkar's district is LB51
    (Role.MINISTRY, "LB", EVERYWHERE),
    (Role.INSPECTOR, "LB", EVERYWHERE),
    (Role.HEALTH_MINISTRY, "LB", set()),  # cases, reports and circulars; no family's log
    (Role.AGENT, "LB", EVERYWHERE),
    (Role.COMMITTEE, "LB", EVERYWHERE),
    (Role.ARMY, "LB3", set()),  # lists and handovers only, not the message log
    (Role.ADMIN, "LB", set()),  # accounts only, no family's data
]

MATRIX_IDS = [f"{r.value}@{a}" for r, a, _ in MATRIX]
