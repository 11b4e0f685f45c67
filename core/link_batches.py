"""Links in bulk: a focal point's batch of numbers, each row's outcome, and its progress.

A batch is checked in full before anything is sent (`core.link_batch_checks`): every row is
stored with what the check found, and only the rows found READY are sent, by a job, once the
focal point confirms (`core.link_batch_sending`). A number appears once per batch (the unique
`batch_id, phone`: a duplicate row of the file keeps no phone), and a row is ISSUED in the same
transaction as its link and its SMS, so a batch confirmed twice, a job run twice or a job
resumed after a crash never gives a number two links.

Who sees a batch: it is placed in its sender's municipality (`AreaScoped`) and read through
`core.scopes.visible` with `SEND_LINKS`, like the single links. Its rows keep the full number:
the municipality's focal point typed them and must follow each one up (call the family whose
number was refused, send again tomorrow); nobody outside the municipality reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.messages import Message, MessageStatus
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible
from core.users import StaffUser

MAX_ROWS = 5000  # a municipality's families in one go; more is split into several batches
MAX_TYPED = 40  # characters of a row kept as typed (core.phones.MAX_INPUT)


class BatchState(StrEnum):
    """Where a batch is."""

    CHECKED = "checked"  # checked, waiting for the focal point to confirm
    SENDING = "sending"  # confirmed: the job issues its links (their SMS follow at the rate)
    DONE = "done"  # every row has its outcome; SMS still owed go out from the outbox


class Outcome(StrEnum):
    """What became of one row: found at the check, or when the job reached it."""

    READY = "ready"  # checked and to be sent on confirmation
    ISSUED = "issued"  # its link was issued and its SMS owed
    INVALID = "invalid"  # not a phone number
    FOREIGN = "foreign"  # a number outside Lebanon
    LANDLINE = "landline"  # a Lebanese landline: no SMS
    DUPLICATE = "duplicate"  # the same number earlier in the file
    TODAY = "today"  # the number was sent a link today already
    STOPPED = "stopped"  # the number sent STOP
    DAILY_CAP = "daily_cap"  # the number had its three notices in the last 24 hours
    WINDOW_CLOSED = "window_closed"  # the round closed before the job reached it


class LinkBatch(AreaScoped, Base):
    """One upload of numbers by a member of staff, in its sender's municipality."""

    __tablename__ = "link_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    state: Mapped[str] = mapped_column(String(12), default=BatchState.CHECKED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BatchRow(Base):
    """One row of a batch: as typed, the number it stands for, and its outcome."""

    __tablename__ = "link_batch_rows"
    __table_args__ = (
        UniqueConstraint("batch_id", "phone"),
        # The job's next chunk and the progress page's counts: a batch's rows by outcome.
        Index("ix_link_batch_rows_batch_outcome", "batch_id", "outcome", "line"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("link_batches.id"))
    line: Mapped[int] = mapped_column(Integer)  # its row in the file, from 1
    typed: Mapped[str] = mapped_column(String(MAX_TYPED))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164; None unless first and valid
    outcome: Mapped[str] = mapped_column(String(16))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class BatchUnavailable(LookupError):
    """No such batch, or not one the viewer may see: one error, so a guess learns nothing."""


def batch_for(session: Session, viewer: Viewer, batch_id: int) -> LinkBatch:
    """The batch, if it lies in the viewer's area and the viewer sends links."""
    stmt = select(LinkBatch).where(LinkBatch.id == batch_id)
    found = session.scalars(visible(stmt, viewer, LinkBatch, Permission.SEND_LINKS)).first()
    if found is None:
        raise BatchUnavailable()
    return found


def batches_visible_to(session: Session, viewer: Viewer, limit: int = 20) -> list[LinkBatch]:
    """The newest batches of the viewer's area, for the bulk page's list."""
    stmt = select(LinkBatch).order_by(LinkBatch.id.desc()).limit(limit)
    return list(session.scalars(visible(stmt, viewer, LinkBatch, Permission.SEND_LINKS)))


def confirm(session: Session, user: StaffUser, batch: LinkBatch) -> bool:
    """CHECKED → SENDING in one statement: True for the one request that confirmed it.

    A second confirmation (a double click, the back button and submit again) changes nothing.
    """
    now = utcnow()
    changed = session.execute(
        update(LinkBatch)
        .where(LinkBatch.id == batch.id, LinkBatch.state == BatchState.CHECKED)
        .values(state=BatchState.SENDING, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        return False
    batch.state, batch.confirmed_at = BatchState.SENDING, now
    ready = count_of(session, batch.id, Outcome.READY)
    audit.record(
        session,
        user.username,
        "link_batch.confirmed",
        "link_batch",
        str(batch.id),
        {"ready": ready},
    )
    return True


def count_of(session: Session, batch_id: int, outcome: Outcome) -> int:
    stmt = select(func.count()).where(BatchRow.batch_id == batch_id, BatchRow.outcome == outcome)
    return int(session.scalar(stmt) or 0)


# --- progress ---------------------------------------------------------------------------------

_ACCEPTED = (MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED)
_FAILED = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
_SKIPPED_AT_CHECK = frozenset(Outcome) - {Outcome.READY, Outcome.ISSUED}


@dataclass(frozen=True)
class Progress:
    """What the progress page shows: rows by outcome, and the issued links' SMS by state."""

    outcomes: dict[Outcome, int]
    messages: dict[str, int]  # message status -> issued rows whose SMS is there
    state: BatchState

    @property
    def waiting(self) -> int:
        """Rows the job has not reached yet."""
        return self.outcomes.get(Outcome.READY, 0)

    @property
    def issued(self) -> int:
        return self.outcomes.get(Outcome.ISSUED, 0)

    @property
    def sent(self) -> int:
        """SMS the gateway accepted (queued, sent or delivered)."""
        return sum(self.messages.get(status, 0) for status in _ACCEPTED)

    @property
    def failed(self) -> int:
        return sum(self.messages.get(status, 0) for status in _FAILED)

    @property
    def skipped(self) -> int:
        """Rows not sent: refused at the check or when the job reached them, or SMS withheld."""
        refused = sum(n for outcome, n in self.outcomes.items() if outcome in _SKIPPED_AT_CHECK)
        return refused + self.messages.get(MessageStatus.SUPPRESSED, 0)

    @property
    def outbox(self) -> int:
        """Issued links whose SMS is still owed or being handed over."""
        return self.messages.get(MessageStatus.PENDING, 0) + self.messages.get(
            MessageStatus.SENDING, 0
        )

    @property
    def done(self) -> bool:
        """Every row has its outcome and every SMS has left the outbox (or failed)."""
        return self.state is BatchState.DONE and self.outbox == 0


def progress(session: Session, batch: LinkBatch) -> Progress:
    """Two grouped counts: a 5,000-row batch reads as fast as a small one."""
    by_outcome = session.execute(
        select(BatchRow.outcome, func.count())
        .where(BatchRow.batch_id == batch.id)
        .group_by(BatchRow.outcome)
    ).all()
    by_status = session.execute(
        select(Message.status, func.count())
        .join(BatchRow, BatchRow.message_id == Message.id)
        .where(BatchRow.batch_id == batch.id)
        .group_by(Message.status)
    ).all()
    return Progress(
        {Outcome(outcome): int(n) for outcome, n in by_outcome},
        {str(status): int(n) for status, n in by_status},
        BatchState(batch.state),
    )


def rows_with_messages(
    session: Session, batch_id: int, *, problems_only: bool = False, limit: int | None = None
) -> list[tuple[BatchRow, str | None]]:
    """The batch's rows in file order, with their SMS's status (for the page and the CSV)."""
    stmt = (
        select(BatchRow, Message.status)
        .outerjoin(Message, Message.id == BatchRow.message_id)
        .where(BatchRow.batch_id == batch_id)
        .order_by(BatchRow.line)
    )
    if problems_only:
        stmt = stmt.where(BatchRow.outcome.in_([o.value for o in _SKIPPED_AT_CHECK]))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(row, status) for row, status in session.execute(stmt).all()]
