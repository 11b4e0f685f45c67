"""Beneficiary lists written straight into the store, without the scoring engine's judgement.

The distribution side only needs a list's rows: which families are selected, in which list,
published or not. These builders insert exactly that, so handover tests do not move when the
formula does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from core.applications import Application
from core.db import utcnow
from core.geography import Area
from core.programme import Programme, current_programme, set_window
from scoring.lists import BeneficiaryList, ListEntry, Outcome
from scoring.scores import FormulaRecord
from tests.support.households import submitted

FORMULA_VERSION = "test-handover-1"


def open_round(db: Session) -> Programme:
    """The round's window, open now (applications can be submitted)."""
    return set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")


def families(
    db: Session, count: int, start: int = 1, area: Area | None = None
) -> list[Application]:
    """`count` distinct submitted applications (a round must be open), moved to `area` if given."""
    made = []
    for n in range(start, start + count):
        application = submitted(db, n, phone=f"+96171{n:06d}")
        if area is not None:
            application.place_in(area)
        made.append(application)
    db.flush()
    return made


def formula(db: Session) -> FormulaRecord:
    record = db.get(FormulaRecord, FORMULA_VERSION)
    if record is None:
        record = FormulaRecord(
            version=FORMULA_VERSION, digest="0" * 64, illustrative=True, text="{}"
        )
        db.add(record)
        db.flush()
    return record


def make_list(
    db: Session,
    selected: Sequence[Application],
    not_selected: Sequence[Application] = (),
    excluded: Sequence[Application] = (),
    published: bool = True,
) -> BeneficiaryList:
    """A list of these families with these outcomes, published (every SMS owed) or not."""
    programme = current_programme(db)
    assert programme is not None, "open a round first (open_round)"
    everyone = [*selected, *not_selected, *excluded]
    now = utcnow()
    built = BeneficiaryList(
        programme_id=programme.id,
        formula_version=formula(db).version,
        budget=len(selected),
        quota="national",
        as_of=now.date().isoformat(),
        input_digest="1" * 64,
        result_digest="2" * 64,
        families=len(everyone),
        selected=len(selected),
        built_at=now,
        published_at=now if published else None,
    )
    db.add(built)
    db.flush()
    outcomes = (
        [(a, Outcome.SELECTED) for a in selected]
        + [(a, Outcome.NOT_SELECTED) for a in not_selected]
        + [(a, Outcome.EXCLUDED) for a in excluded]
    )
    for rank, (application, outcome) in enumerate(outcomes, start=1):
        db.add(_entry(built, application, outcome, rank, published))
    db.flush()
    return built


def _entry(
    built: BeneficiaryList, application: Application, outcome: Outcome, rank: int, published: bool
) -> ListEntry:
    return ListEntry(
        list_id=built.id,
        application_id=application.id,
        application_version=application.version,
        input_digest="3" * 64,
        outcome=str(outcome),
        reason=None if outcome is Outcome.SELECTED else "above_cutoff",
        score=None if outcome is Outcome.EXCLUDED else 10.0 + rank,
        poverty_count=None if outcome is Outcome.EXCLUDED else 2,
        area="",
        rank=None if outcome is Outcome.EXCLUDED else rank,
        notified_at=built.published_at if published else None,
    )
