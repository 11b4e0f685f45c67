"""Decisions of every level (circular §3.3), against the scope matrix: a decision is read in
the area that issued it and in every area below it, by the roles with the reports permission;
the areas beside it and above it (but the national level) never read it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from core.decisions import Decision, DecisionKind, decision_for, decisions_visible_to
from core.roles import Role
from tests.support.factories import HOME, area, load_sample_geography, make_user
from tests.support.scope_matrix import MATRIX, MATRIX_IDS

# One decision at each level above the municipality, and one of Chiyah (HOME, in LB32, LB3).
ISSUED = {
    "governorate LB3": (DecisionKind.GOVERNORATE, "LB3"),
    "district LB32": (DecisionKind.DISTRICT, "LB32"),
    "municipality": (DecisionKind.MUNICIPAL, HOME),
    "district LB51": (DecisionKind.DISTRICT, "LB51"),
}
NATIONAL = set(ISSUED)
# Which a viewer of the matrix reads: the roles without the reports permission read none.
READS = {
    (Role.FOCAL_POINT, HOME): {"governorate LB3", "district LB32", "municipality"},
    (Role.QAIMAQAM, "LB32"): {"governorate LB3", "district LB32", "municipality"},
    (Role.QAIMAQAM, "LB51"): {"district LB51"},  # Akkar: another governorate altogether
    (Role.GOVERNOR, "LB3"): {"governorate LB3", "district LB32", "municipality"},
    (Role.GOVERNOR, "LB7"): {"district LB51"},
    (Role.MINISTRY, "LB"): NATIONAL,
    (Role.INSPECTOR, "LB"): NATIONAL,
    (Role.HEALTH_MINISTRY, "LB"): NATIONAL,
}


@pytest.mark.parametrize(("role", "area_code", "_messages"), MATRIX, ids=MATRIX_IDS)
def test_a_decision_binds_its_area_and_every_area_below(
    db: Session, role: Role, area_code: str, _messages: set[str]
) -> None:
    load_sample_geography(db)
    ids = {}
    for title, (kind, code) in ISSUED.items():
        decision = Decision(
            kind=kind,
            category="other",
            title=title,
            text=title,
            effective_from=date(2020, 4, 1),
            issuer=code,
        )
        decision.place_in(area(db, code))
        db.add(decision)
        db.flush()
        ids[title] = decision.id
    viewer = make_user(db, role, area_code)

    listed = {d.title for d in decisions_visible_to(db, viewer)}
    opened = {title for title, i in ids.items() if decision_for(db, viewer, i) is not None}

    assert listed == opened == READS.get((role, area_code), set())
