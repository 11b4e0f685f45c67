"""Publishing a list: each family on it is told its outcome by one SMS, and only one.

A number that sent STOP is not texted (Twilio would refuse it anyway); its family hears the
outcome when it asks for its status, by SMS or on the 1766 line.

Publishing runs in batches, each its own transaction: the batch's SMS are owed (outbox rows)
and its entries marked notified in the same commit, so a crash mid-way loses nothing and a
second run continues where the first stopped without telling anyone twice. The list counts
as published when its last entry is notified. The words are the adapter's (`compose`): the
domain says who is told what, not how it is said in Arabic, English or French.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.db import utcnow
from core.notifications import owe_sms
from core.opt_outs import SmsOptOut
from scoring.lists import BeneficiaryList, ListEntry

PURPOSE = "list_result"
BATCH = 1000

Compose = Callable[[Application, ListEntry], str]  # the SMS body, in the family's language


@dataclass(frozen=True)
class Batch:
    message_ids: list[int]  # owed in this batch, to enqueue after the commit
    remaining: bool  # entries still to be told
    stopped: int = 0  # families not texted: their number sent STOP


class AlreadyPublished(Exception):
    """Every family on this list has been told."""


def publish_batch(
    session: Session, beneficiary_list: BeneficiaryList, compose: Compose, size: int = BATCH
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
    owed = []
    now = utcnow()
    rows = [(row[0], row[1]) for row in session.execute(stmt)]
    stopped = _stopped(session, [application.phone for _entry, application in rows])
    for entry, application in rows:
        entry.notified_at = now
        if application.phone in stopped:
            continue  # it sent STOP (Twilio would refuse too); it can still ask for its status
        body = compose(application, entry)
        phone, language = application.phone, application.language
        owed.append(owe_sms(session, phone, body, language, PURPOSE, application.area()))
    remaining = len(rows) == size
    if not remaining:
        beneficiary_list.published_at = now
    session.flush()
    return Batch(owed, remaining, sum(a.phone in stopped for _entry, a in rows))


def _stopped(session: Session, phones: list[str]) -> set[str]:
    """The numbers of this batch that asked, by STOP, not to be sent messages."""
    if not phones:
        return set()
    stmt = select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones))
    return set(session.scalars(stmt))
