"""Two rounds in the store, on a frozen clock: the first closed, its list built and published,
the second open, with the first round's families applying again (once per round is allowed).

Shared by the tests of `core.rounds` and of the pages that pick a round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType

from sqlalchemy.orm import Session

from core.applications import Application
from core.programme import Programme, set_window
from core.roles import Role
from core.users import StaffUser
from scoring.lists import BeneficiaryList
from tests.support.factories import load_sample_geography, make_user
from tests.support.list_factories import families, make_list

# Monday 2 March 2026, 10:00 in Beirut: round 1 opens the day before and closes a week later.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FIRST, SECOND, LATER = "round-1", "round-2", "round-3"


@dataclass
class TwoRounds:
    first: Programme  # closed, with a published list
    second: Programme  # open now
    first_families: list[Application]  # three families of HOME
    second_families: list[Application]  # two of the same families, applying again
    first_list: BeneficiaryList  # two selected, one not
    army: StaffUser  # Mount Lebanon, where HOME is
    inspector: StaffUser  # national
    ministry: StaffUser  # national


def build_two_rounds(db: Session, clock: ModuleType) -> TwoRounds:
    """Round 1 runs and closes, its list is built and published, then round 2 opens."""
    clock.freeze(START)
    load_sample_geography(db)
    first = set_window(db, START - timedelta(days=1), START + timedelta(days=7), "test", FIRST)
    first_families = families(db, 3)
    clock.advance(timedelta(days=8))  # round 1 has closed
    first_list = make_list(db, first_families[:2], [first_families[2]])
    opens = START + timedelta(days=9)
    second = set_window(db, opens, opens + timedelta(days=14), "test", SECOND)
    clock.advance(timedelta(days=2))  # round 2 is open
    second_families = families(db, 2)  # families 1 and 2 again: a new round, a new form
    accounts = [
        make_user(db, Role.ARMY, "LB3", username="army"),
        make_user(db, Role.INSPECTOR, "LB", username="inspector"),
        make_user(db, Role.MINISTRY, "LB", username="ministry"),
    ]
    db.commit()
    return TwoRounds(first, second, first_families, second_families, first_list, *accounts)
