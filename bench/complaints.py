"""The complaint room's hot paths at the scale of a national programme, on PostgreSQL.

Run with `.venv/bin/python -m bench.complaints` (also part of `bin/bench`). Seeds
`TICKETS` tickets over the sample municipalities (1 % of them overdue), then times, as the
median of a few runs: a municipality's complaint list (misconduct hidden), the supervisors'
overdue view, one escalation pass, and approving corrections end to end in the store
(log, decide, version, keys, scoring request, audit). Prints a Markdown table.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from bench.run import fresh_store, median_seconds
from core.correction_changes import Change
from core.correction_decisions import decide_correction, log_correction
from core.corrections import CorrectionSource
from core.db import make_sessionmaker, table, utcnow
from core.programme import set_window
from core.roles import Role
from core.tickets import Ticket, TicketCategory, escalate_overdue, open_ticket, tickets_visible_to
from tests.support.factories import SAMPLE_CODES, load_sample_geography, make_user
from tests.support.households import submitted

TICKETS = 200_000
CORRECTIONS = 100


def seed_tickets(session: Session) -> None:
    now, categories = utcnow(), list(TicketCategory)
    rows = [
        {
            "number": f"{10_000_000 + n}",
            "kind": "complaint",
            "category": categories[n % len(categories)],
            "channel": "ivr",
            "phone": f"+96170{n % 1_000_000:06d}",
            "language": "ar",
            "status": "open",
            "created_at": now,
            "due_at": now - timedelta(hours=1) if n % 100 == 0 else now + timedelta(days=3),
            "locality_code": SAMPLE_CODES[n % len(SAMPLE_CODES)],
            "district_code": None,
            "governorate_code": None,
        }
        for n in range(TICKETS)
    ]
    for start in range(0, TICKETS, 10_000):
        session.execute(insert(table(Ticket)), rows[start : start + 10_000])
    session.commit()


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_store("postgresql", Path(folder))
    factory = make_sessionmaker(engine)
    with factory() as session:
        load_sample_geography(session)
        set_window(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "bench")
        focal = make_user(session, Role.FOCAL_POINT, SAMPLE_CODES[0], "bench-focal")
        agent = make_user(session, Role.AGENT, "LB", "bench-agent")
        committee = make_user(session, Role.COMMITTEE, "LB", "bench-committee")
        seed_tickets(session)
        print(f"seeded {TICKETS} tickets", file=sys.stderr)
        listing = median_seconds(lambda: tickets_visible_to(session, focal))
        overdue = median_seconds(lambda: tickets_visible_to(session, committee, overdue_only=True))

        def escalate() -> None:
            session.execute(update(table(Ticket)).values(escalated_at=None))
            escalate_overdue(session)
            session.rollback()

        escalation = median_seconds(escalate)
        applications = [
            submitted(session, n, phone="+9613123456") for n in range(1, CORRECTIONS + 1)
        ]
        session.commit()
        rules = {"today": date.today()}

        def approve_all() -> None:
            for application in applications:
                ticket = open_ticket(
                    session,
                    phone=application.phone,
                    channel="agent",
                    language="ar",
                    category=TicketCategory.CORRECTION,
                    application=application,
                )
                change = Change("rooms", str(3 + application.version % 5), "a room was built")
                correction = log_correction(
                    session,
                    ticket,
                    application,
                    [change],
                    source=CorrectionSource.AGENT,
                    logged_by_id=agent.id,
                    actor=agent.username,
                    **rules,
                )
                decide_correction(session, correction, committee, approve=True, note="", **rules)
                session.commit()

        approvals = median_seconds(approve_all, repeats=1) / CORRECTIONS
    engine.dispose()
    print(f"| measure ({TICKETS:,} tickets, PostgreSQL) | time |")
    print("|---|---|")
    print(
        f"| a municipality's complaint list (100 newest, misconduct hidden) | {listing * 1000:.1f} ms |"
    )
    print(f"| the supervisors' overdue view | {overdue * 1000:.1f} ms |")
    print(f"| one escalation pass over {TICKETS // 100:,} overdue tickets | {escalation:.2f} s |")
    print(
        f"| one correction logged and approved (store work, audited) | {approvals * 1000:.1f} ms |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
