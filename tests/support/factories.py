"""Small builders for test data: a slice of the real geography, staff accounts, log rows."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.geography import Area, load_localities, resolve_area
from core.roles import Role
from core.users import StaffUser, add_user

LOCALITIES = Path(__file__).resolve().parents[2] / "data" / "lebanon_localities.csv"
PASSWORD = "correct horse battery staple"

# Chiyah and Furn Ech-Chebbak (Baabda, LB32), Bourj Hammoud (Metn, LB36), all in Mount Lebanon
# (LB3); Ain el-Mreisseh in Beirut (LB1); Halba in Akkar, where district LB51 is under LB7;
# Batroun in the North (LB5).
HOME = "21111"
SAME_DISTRICT = "21133"
SAME_GOVERNORATE = "22111"
ELSEWHERE = "10110"
AKKAR = "35111"
NORTH = "34111"
SAMPLE_CODES = (HOME, SAME_DISTRICT, SAME_GOVERNORATE, ELSEWHERE, AKKAR, NORTH)

_counter = itertools.count(1)


def load_sample_geography(session: Session, codes: tuple[str, ...] = SAMPLE_CODES) -> None:
    """The real rows of a few localities, loaded through the same code as `geo load`."""
    with LOCALITIES.open(encoding="utf-8", newline="") as handle:
        rows = [
            (n, row)
            for n, row in enumerate(csv.DictReader(handle), start=2)
            if row["locality_code"] in codes
        ]
    assert len(rows) == len(codes), "a sample locality is missing from the data file"
    report = load_localities(session, rows)
    assert not report.rejected


def area(session: Session, code: str) -> Area:
    return resolve_area(session, code)


def make_user(
    session: Session,
    role: Role,
    area_code: str,
    username: str | None = None,
    password: str = PASSWORD,
    pledged: bool = True,
) -> StaffUser:
    name = username or f"{role.value.replace('_', '-')}-{next(_counter)}"
    user = add_user(session, name, role, area_code, password, actor="test")
    if pledged:
        from core.db import utcnow

        user.pledge_accepted_at = utcnow()
    session.flush()
    return user


def approved_correction(
    db: Session, application: Any, change: Any, agent: str = "agent-a", member: str = "committee-a"
) -> Any:
    """`agent` logs `change` to the application and committee `member` approves it (a ticket)."""
    from core.clock import beirut_today
    from core.correction_decisions import decide_correction, log_correction
    from core.corrections import CorrectionSource
    from core.tickets import TicketCategory, open_ticket

    rules = {"today": beirut_today()}
    logger = make_user(db, Role.AGENT, "LB", agent)
    committee = make_user(db, Role.COMMITTEE, "LB", member)
    ticket = open_ticket(
        db,
        phone=application.phone,
        channel="agent",
        language="ar",
        category=TicketCategory.CORRECTION,
        application=application,
    )
    correction = log_correction(
        db,
        ticket,
        application,
        [change],
        source=CorrectionSource.AGENT,
        logged_by_id=logger.id,
        actor=logger.username,
        **rules,
    )
    decide_correction(db, correction, committee, approve=True, note="", **rules)
    db.commit()
    return ticket


def rows_of(db: Session, model: type[object]) -> int:
    """How many rows `model`'s table holds now (what a refused write must leave unchanged)."""
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def audit_events(db: Session, action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first, as the store has them now."""
    db.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    return list(db.scalars(stmt))
