"""Publishing a list: each family on it is told its outcome by one SMS, and only one.

A number that sent STOP is not texted (core/sms_policy.py; Twilio would refuse it anyway): its
SMS is stored as withheld, and its family hears the outcome when it asks for its status on the
1766 line. An outcome is a decision on the family's case: the daily cap does not hold it back.

Publishing runs in batches, each its own transaction: the batch's SMS are owed (outbox rows)
and its entries marked notified in the same commit, so a crash mid-way loses nothing and a
second run continues where the first stopped without telling anyone twice. The list counts
as published when its last entry is notified. The words are the caller's (`compose`, from
texts/): the domain says who is told what (`core.sayings.ListResult`), not how it is said in
Arabic, English or French.

A selected family's SMS carries its voucher's code, issued in the batch's transaction, so the
code a family is told and the voucher the army later exports are one row, made once. Vouchers
are distribution's, which this layer may not import: the caller passes `voucher_for`
(distribution/publication.py builds it with the signing key), and this module only says
where the code goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.db import utcnow
from core.notifications import Sms, owe_text
from core.sayings import Compose, ListResult
from core.sms_policy import Occasion
from scoring.lists import BeneficiaryList, ListEntry, Outcome

PURPOSE = "list_result"
BATCH = 1000

# (session, entry, application) -> the selected family's voucher code, issued once per entry;
# None when no voucher can be made (no municipality to hand the aid over in).
VoucherFor = Callable[[Session, ListEntry, Application], str | None]


@dataclass(frozen=True)
class Batch:
    message_ids: list[int]  # owed in this batch, to enqueue after the commit
    remaining: bool  # entries still to be told
    stopped: int = 0  # families not texted: their number sent STOP


class AlreadyPublished(Exception):
    """Every family on this list has been told."""


def publish_batch(
    session: Session,
    beneficiary_list: BeneficiaryList,
    compose: Compose,
    voucher_for: VoucherFor,
    size: int = BATCH,
) -> Batch:
    """Owe the next `size` families their SMS; the caller commits, then dispatches."""
    if beneficiary_list.published_at is not None:
        raise AlreadyPublished()
    stmt = (
        select(ListEntry, Application)
        .join(Application, Application.id == ListEntry.application_id)
        .where(ListEntry.list_id == beneficiary_list.id, ListEntry.notified_at.is_(None))
        .order_by(ListEntry.id)
        .limit(size)
        .with_for_update(of=ListEntry)  # a second publisher waits, then skips these
    )
    owed: list[int] = []
    stopped = 0
    now = utcnow()
    rows = [(row[0], row[1]) for row in session.execute(stmt)]
    for entry, application in rows:
        entry.notified_at = now
        selected = entry.outcome == Outcome.SELECTED
        code = voucher_for(session, entry, application) if selected else None
        sms = _outcome_sms(application, entry, code, compose)
        owing = owe_text(session, sms, Occasion.DECISION)
        owed.extend(owing.to_dispatch)
        stopped += owing.withheld is not None  # STOP: a decision is exempt from the cap
    remaining = len(rows) == size
    if not remaining:
        beneficiary_list.published_at = now
    session.flush()
    return Batch(owed, remaining, stopped)


def _outcome_sms(
    application: Application, entry: ListEntry, code: str | None, compose: Compose
) -> Sms:
    """The family's outcome: a decision on its case, so never held back by the daily cap."""
    selected = entry.outcome == Outcome.SELECTED
    result = ListResult(application.reference, selected, entry.reason, voucher_code=code)
    body = compose(result, application.language)
    return Sms(application.phone, body, application.language, PURPOSE, application.area())
