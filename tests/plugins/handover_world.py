"""A distribution round in the store: a published list (approved by two committee members) and
a draft, families in and out of the municipality, and the army officer who hands vouchers over.
Shared by the handover tests of the store, the console and the exports."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.roles import Role
from core.users import StaffUser
from distribution.approvals import approve_list
from scoring.lists import BeneficiaryList
from tests.support.factories import ELSEWHERE, HOME, area, load_sample_geography, make_user
from tests.support.list_factories import families, make_list, open_round


@dataclass
class World:
    published: BeneficiaryList
    draft: BeneficiaryList
    home: list[Application]  # selected, in HOME (Chiyah, Mount Lebanon)
    elsewhere: Application  # selected, in Beirut
    left_out: list[Application]  # not selected, excluded
    army: StaffUser  # posted to Mount Lebanon (LB3)


def build_world(db: Session) -> World:
    """Six families of HOME and Beirut on a published list (four selected), three on a draft."""
    load_sample_geography(db)
    open_round(db)
    home = families(db, 3)
    elsewhere = families(db, 1, start=4, area=area(db, ELSEWHERE))[0]
    left_out = families(db, 2, start=5)
    published = make_list(db, [*home, elsewhere], [left_out[0]], [left_out[1]])
    draft = make_list(db, home, published=False)
    army = make_user(db, Role.ARMY, "LB3", username="army")
    approve_for_the_army(db, published)
    db.commit()
    return World(published, draft, home, elsewhere, left_out, army)


APPROVERS = ("approver-1", "approver-2")  # the committee's two members (four eyes)


def approve_for_the_army(db: Session, beneficiary_list: BeneficiaryList) -> None:
    """Two committee members approve the list, as the army needs before it distributes."""
    for username in APPROVERS:
        member = db.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        approve_list(db, beneficiary_list, member or make_user(db, Role.COMMITTEE, "LB", username))


@pytest.fixture
def handover_world(db: Session) -> World:
    """The round of `build_world`, for a test that needs nothing else."""
    return build_world(db)


# Other accounts, made when a test asks for them (each password hash takes a moment).
ACCOUNTS = {
    "army-beirut": (Role.ARMY, "LB1"),
    "army-chiyah": (Role.ARMY, HOME),
    "ministry": (Role.MINISTRY, "LB"),
    "focal": (Role.FOCAL_POINT, HOME),
}


def user(db: Session, username: str) -> StaffUser:
    found = db.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if found is None:
        found = make_user(db, *ACCOUNTS[username], username=username)
        db.commit()
    return found
