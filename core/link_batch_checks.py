"""Checking a batch of numbers before anything is sent, and storing it with every row's outcome.

Each row is typed in any Lebanese form (`core.phones.normalise_mobile`); then what the store
knows is asked once per few hundred numbers, not once per row: who sent STOP, who was sent a
link today (Beirut's day, as the dashboard counts), who had the daily cap's three notices in
the last 24 hours (`core.sms_policy`). The job asks again when it reaches each row, since
hours may pass between the check and the confirmation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import beirut_today
from core.db import utcnow
from core.link_batches import MAX_ROWS, MAX_TYPED, BatchRow, LinkBatch, Outcome
from core.link_lifecycle import open_programme
from core.links import Channel, Link
from core.messages import Direction, Message, MessageStatus
from core.opt_outs import SmsOptOut
from core.phones import NotLebaneseMobile, PhoneProblem, normalise_mobile
from core.sms_policy import CAP_WINDOW, DAILY_CAP
from core.users import StaffUser

LOOKUP_CHUNK = 500  # numbers per `IN (...)`: well inside every driver's limit on parameters
_PROBLEMS = {
    PhoneProblem.INVALID: Outcome.INVALID,
    PhoneProblem.FOREIGN: Outcome.FOREIGN,
    PhoneProblem.NOT_MOBILE: Outcome.LANDLINE,
}


class TooManyRows(ValueError):
    """More rows than one batch takes (`MAX_ROWS`)."""

    def __init__(self, rows: int) -> None:
        super().__init__(f"{rows} rows")
        self.rows = rows


class NoRows(ValueError):
    """Nothing to check: an empty paste or file."""


@dataclass(frozen=True)
class Checked:
    """One row as the check found it."""

    line: int
    typed: str
    phone: str | None
    outcome: Outcome


def check_entries(session: Session, entries: Sequence[tuple[int, str]]) -> list[Checked]:
    """Every row's outcome: its form, a duplicate earlier in the file, then the store's refusals."""
    if not entries:
        raise NoRows()
    if len(entries) > MAX_ROWS:
        raise TooManyRows(len(entries))
    seen: set[str] = set()
    rows: list[Checked] = []
    for line, typed in entries:
        phone, outcome = _one(typed, seen)
        rows.append(Checked(line, typed[:MAX_TYPED], phone, outcome))
    refused = refusals(session, [row.phone for row in rows if row.outcome is Outcome.READY])
    return [
        Checked(row.line, row.typed, row.phone, refused[row.phone])
        if row.phone in refused and row.outcome is Outcome.READY
        else row
        for row in rows
    ]


def _one(typed: str, seen: set[str]) -> tuple[str | None, Outcome]:
    try:
        phone = normalise_mobile(typed)
    except NotLebaneseMobile as problem:
        return None, _PROBLEMS[problem.problem]
    if phone in seen:
        return None, Outcome.DUPLICATE  # no phone: the batch's (batch, phone) stays unique
    seen.add(phone)
    return phone, Outcome.READY


def refusals(session: Session, phones: Sequence[str | None]) -> dict[str, Outcome]:
    """Why each of `phones` must not be sent a link now (STOP first, then today, then the cap)."""
    found: dict[str, Outcome] = {}
    wanted = [phone for phone in phones if phone]
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        for outcome, matched in (
            (Outcome.DAILY_CAP, _capped(session, chunk)),
            (Outcome.TODAY, _linked_today(session, chunk)),
            (Outcome.STOPPED, _stopped(session, chunk)),
        ):
            found.update(dict.fromkeys(matched, outcome))  # later kinds win: STOP above all
    return found


def _stopped(session: Session, phones: list[str]) -> Iterable[str]:
    return session.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones)))


def _linked_today(session: Session, phones: list[str]) -> Iterable[str]:
    """Numbers texted a form link on Beirut's today (by a municipality or by the hotline)."""
    stmt = select(Link.phone).where(
        Link.phone.in_(phones),
        Link.created_on == beirut_today(),
        Link.channel.in_([Channel.SMS_LINK.value, Channel.HOTLINE.value]),
    )
    return {phone for phone in session.scalars(stmt) if phone}


def _capped(session: Session, phones: list[str]) -> Iterable[str]:
    """Numbers with the daily cap's notices already owed (`core.sms_policy.notices_since`)."""
    stmt = (
        select(Message.phone)
        .where(
            Message.phone.in_(phones),
            Message.direction == Direction.OUTBOUND,
            Message.capped.is_(True),
            Message.status != MessageStatus.SUPPRESSED,
            Message.created_at > utcnow() - CAP_WINDOW,
        )
        .group_by(Message.phone)
        .having(func.count() >= DAILY_CAP)
    )
    return session.scalars(stmt)


def store_checked(
    session: Session, sender: StaffUser, language: str, entries: Sequence[tuple[int, str]]
) -> LinkBatch:
    """Check every row and store the batch, waiting for confirmation; nothing is sent yet.

    Refused as a whole (nothing written) outside the round's window (`OutsideWindow`), with no
    row (`NoRows`) or too many (`TooManyRows`).
    """
    open_programme(session)
    checked = check_entries(session, entries)
    batch = LinkBatch(sender_id=sender.id, language=language, created_at=utcnow())
    batch.place_in(sender.area)
    session.add(batch)
    session.flush()
    session.execute(
        insert(BatchRow),
        [
            {"batch_id": batch.id, "line": r.line, "typed": r.typed, "phone": r.phone}
            | {"outcome": r.outcome.value}
            for r in checked
        ],
    )
    counts = Counter(row.outcome.value for row in checked)
    details = {"rows": len(checked)} | dict(sorted(counts.items()))
    audit.record(
        session, sender.username, "link_batch.checked", "link_batch", str(batch.id), details
    )
    return batch
