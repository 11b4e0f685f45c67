"""Retention: personal data that has served its purpose is deleted after its period.

Three kinds, each with its setting (core/messaging_settings.py; README, "Retention"):

- a link's draft (the pages a family was filling) once the link can no longer be used:
  expired, revoked, or used (a used link's draft was emptied when the application was
  committed; an older one may still hold it), DRAFT_RETENTION_DAYS after that moment;
- the text of an outbound SMS delivered more than MESSAGE_BODY_RETENTION_DAYS ago: the row
  stays (purpose, status, dates, segments) for counts and the audit, the text becomes
  `BODY_DELETED`. A stored text holds `<link N>`, never a token, and a delivered SMS is never
  sent again; one whose new try (a resend) is still owed keeps its text until that is sent;
- the address of a voice recording (a complaint left on the IVR, a caller's town for a
  call-back) RECORDING_RETENTION_DAYS after the call; a complaint still open keeps its
  recording until it is decided. The provider keeps the audio: the caller passes
  `forget_copy` (hotline/recordings.py deletes Twilio's copy), and an address is dropped only
  once its copy is gone, so a copy the provider could not delete is tried again next run.

Each function changes one batch of rows after a given id and returns where it stopped, so a
caller commits batch by batch and a long backlog never holds one long transaction. Rows are
taken with SKIP LOCKED (PostgreSQL) and changed only if they still qualify, so two runs at once
share the work and a second run finds nothing left: counts are never doubled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from core.callback_requests import CallbackRequest
from core.db import utcnow
from core.links import Link
from core.messages import Direction, Message, MessageStatus
from core.messaging_settings import MessagingSettings
from core.tickets import CLOSED, Ticket

BATCH = 500
RECORDING_BATCH = 50  # each may wait on the provider's API inside the batch's transaction
EMPTY_DRAFT = "{}"  # what a link's draft is before its first page, and after
BODY_DELETED = "[deleted: retention period over]"
_OWED = (MessageStatus.PENDING.value, MessageStatus.SENDING.value)

# A recording's address -> True once the provider's copy is gone (or there is none to delete).
ForgetCopy = Callable[[str], bool]


def no_copy(_url: str) -> bool:
    """For a store whose recordings have no provider copy this service can reach."""
    return True


@dataclass(frozen=True)
class Step:
    """One batch: how many rows it changed, and the last id it looked at (None: no more)."""

    changed: int
    last_id: int | None


def _cutoff(now: datetime | None, days: int) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def _step(
    session: Session,
    model: Any,
    due: ColumnElement[bool],
    values: Mapping[str, Any],
    after: int,
    limit: int,
) -> Step:
    """Change the next `limit` rows of `model` past id `after` that are `due`."""
    pick = (
        select(model.id)
        .where(model.id > after, due)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # another run takes the next rows (PostgreSQL)
    )
    ids = list(session.scalars(pick))
    if not ids:
        return Step(0, None)
    changed = session.execute(
        update(model)
        .where(model.id.in_(ids), due)  # still due: a run at the same time may have done it
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return Step(int(getattr(changed, "rowcount", 0) or 0), ids[-1])


def forget_drafts(
    session: Session,
    settings: MessagingSettings,
    now: datetime | None = None,
    after: int = 0,
    limit: int = BATCH,
) -> Step:
    """Empty the drafts of links unusable for DRAFT_RETENTION_DAYS; a live link keeps its own."""
    cutoff = _cutoff(now, settings.draft_retention_days)
    ended = or_(Link.expires_at < cutoff, Link.revoked_at < cutoff, Link.used_at < cutoff)
    due = and_(Link.draft != EMPTY_DRAFT, ended)
    return _step(session, Link, due, {"draft": EMPTY_DRAFT}, after, limit)


def delete_bodies(
    session: Session,
    settings: MessagingSettings,
    now: datetime | None = None,
    after: int = 0,
    limit: int = BATCH,
) -> Step:
    """Replace the text of SMS delivered over MESSAGE_BODY_RETENTION_DAYS ago; keep the row."""
    cutoff = _cutoff(now, settings.message_body_retention_days)
    retry = aliased(Message)
    retry_owed = exists().where(retry.resend_of == Message.id, retry.status.in_(_OWED))
    due = and_(
        Message.direction == Direction.OUTBOUND.value,
        Message.status == MessageStatus.DELIVERED.value,
        Message.updated_at < cutoff,  # the delivery report is the row's last change
        Message.body != BODY_DELETED,
        ~retry_owed,
    )
    # updated_at is kept: it still says when the SMS was delivered.
    values = {"body": BODY_DELETED, "updated_at": Message.updated_at}
    return _step(session, Message, due, values, after, limit)


def forget_complaint_recordings(
    session: Session,
    settings: MessagingSettings,
    now: datetime | None = None,
    after: int = 0,
    limit: int = BATCH,
    forget_copy: ForgetCopy = no_copy,
) -> Step:
    """Drop the recording of a decided complaint left over RECORDING_RETENTION_DAYS ago."""
    cutoff = _cutoff(now, settings.recording_retention_days)
    due = and_(
        Ticket.recording_url.is_not(None),
        Ticket.created_at < cutoff,
        Ticket.status.in_([status.value for status in CLOSED]),
    )
    return _forget_recordings(session, Ticket.recording_url, due, forget_copy, after, limit)


def forget_callback_recordings(
    session: Session,
    settings: MessagingSettings,
    now: datetime | None = None,
    after: int = 0,
    limit: int = BATCH,
    forget_copy: ForgetCopy = no_copy,
) -> Step:
    """Drop the recorded town of a call-back asked for over RECORDING_RETENTION_DAYS ago."""
    cutoff = _cutoff(now, settings.recording_retention_days)
    column = CallbackRequest.town_recording_url
    due = and_(column.is_not(None), CallbackRequest.created_at < cutoff)
    return _forget_recordings(session, column, due, forget_copy, after, limit)


def _forget_recordings(
    session: Session,
    column: Any,
    due: ColumnElement[bool],
    forget_copy: ForgetCopy,
    after: int,
    limit: int,
) -> Step:
    """The provider's copy first, then the address: one kept at the provider stays listed."""
    model = column.class_
    pick = (
        select(model.id, column)
        .where(model.id > after, due)
        .order_by(model.id)
        .limit(min(limit, RECORDING_BATCH))
        .with_for_update(skip_locked=True)
    )
    rows = [(row_id, url) for row_id, url in session.execute(pick)]
    if not rows:
        return Step(0, None)
    gone = [row_id for row_id, url in rows if forget_copy(url)]
    changed = 0
    if gone:
        result = session.execute(
            update(model)
            .where(model.id.in_(gone), due)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
        changed = int(getattr(result, "rowcount", 0) or 0)
    return Step(changed, rows[-1][0])


Kind = Callable[[Session, MessagingSettings, datetime | None, int, int], Step]


def kinds(forget_copy: ForgetCopy = no_copy) -> dict[str, Kind]:
    """What `housekeeping` does and reports, in this order."""
    return {
        "drafts": forget_drafts,
        "message bodies": delete_bodies,
        "complaint recordings": partial(forget_complaint_recordings, forget_copy=forget_copy),
        "call-back recordings": partial(forget_callback_recordings, forget_copy=forget_copy),
    }
