"""SMS owed to citizens: the outbox that makes every message go out once and only once.

The transaction that makes a message owed (a link, a receipt) writes it as a PENDING row;
only after that commit is a job enqueued. If Redis is down, or a worker dies, the row is
still there: `due_for_dispatch` finds it again. A worker claims a row (SENDING) before it
calls the gateway, and a claim that went silent is reconciled with the provider before
anything is sent again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from core.db import table, utcnow
from core.geography import Area
from core.link_tokens import as_sent_length, with_tokens
from core.messages import Direction, Message, MessageStatus
from core.opt_outs import has_stopped
from core.queue import JobRunner, Work
from core.segments import segments, strip_invisibles
from core.sms_policy import OPT_CHOICE_PURPOSE, Occasion, Withheld, withheld

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=2)  # a claim older than this is presumed dead
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
MAX_ATTEMPTS = 8
LINK_PURPOSES = frozenset({"form_link", "correction_link"})
_RAW_TOKEN = re.compile(r"/f/[A-Za-z0-9_-]{16,64}")  # a token as written before migration 0011
STATUS_CODE_PURPOSE = "status_code"  # a one-time code for /status (core/status_codes.py)
_ONE_TIME_CODE = re.compile(r"\b[0-9]{6}\b", re.ASCII)


_INSERT_MESSAGE = insert(table(Message)).returning(table(Message).c.id)


@dataclass(frozen=True)
class Sms:
    """An SMS to owe: to whom, what, in which language, what for, and in which area."""

    phone: str  # E.164
    body: str  # as stored: a link's token stands as `<link N>` (core/links.py)
    language: str
    purpose: str  # e.g. form_link, receipt, status
    area: Area | None = None


@dataclass(frozen=True)
class Owing:
    """What `owe_text` did: the message's id, and why it was withheld if it was."""

    message_id: int
    withheld: Withheld | None = None

    @property
    def sent(self) -> bool:
        """Owed and on its way (after the commit): dispatch it."""
        return self.withheld is None

    @property
    def to_dispatch(self) -> tuple[int, ...]:
        return (self.message_id,) if self.sent else ()


def owe_text(session: Session, sms: Sms, occasion: Occasion) -> Owing:
    """The only way to owe an SMS to a phone: STOP and the daily cap applied (core/sms_policy).

    A withheld SMS is still written, as SUPPRESSED with the reason, so the message log shows
    what was not sent and why; only a sent one is to be dispatched, after the caller commits.
    """
    now = utcnow()
    reason = withheld(session, sms.phone, occasion, now)
    message_id = _insert(session, sms, occasion, reason, now)
    if reason is not None:
        log.info("SMS %s (%s) withheld: %s", message_id, sms.purpose, reason.value)
    return Owing(message_id, reason)


def may_text(session: Session, phone: str, occasion: Occasion) -> Withheld | None:
    """Why an SMS to `phone` would be withheld now, asked before work that only an SMS
    delivers (issuing a link); the phone stays locked for the SMS that follows."""
    return withheld(session, phone, occasion, utcnow())


def _insert(
    session: Session, sms: Sms, occasion: Occasion, reason: Withheld | None, now: datetime
) -> int:
    """One prepared insert: every submission owes an acknowledgement."""
    body = strip_invisibles(sms.body)  # what is stored is exactly what is sent (and reconciled)
    _encoding, count = segments(as_sent_length(body))
    area = sms.area
    # Core on the session's connection: the insert loads nothing, the ORM path adds nothing.
    connection = session.connection()
    return int(
        connection.execute(
            _INSERT_MESSAGE,
            {
                "direction": Direction.OUTBOUND,
                "phone": sms.phone,
                "body": body,
                "language": sms.language,
                "purpose": sms.purpose,
                "status": MessageStatus.PENDING if reason is None else MessageStatus.SUPPRESSED,
                "error_code": None if reason is None else reason.value,
                "segments": count,
                "capped": occasion is Occasion.NOTICE,
                "attempts": 0,
                "next_attempt_at": now if reason is None else None,
                "created_at": now,
                "updated_at": now,
                "governorate_code": area.governorate_code if area else None,
                "district_code": area.district_code if area else None,
                "locality_code": area.locality_code if area else None,
            },
        ).scalar_one()
    )


def dispatch(runner: JobRunner, message_ids: Iterable[int], new: bool = False) -> None:
    """Enqueue the send jobs after commit; a failure here loses nothing (the sweep retries).

    `new`: the messages were just committed, so no job for them can be queued yet (a rare
    second job, from a sweep in between, is harmless: only one can claim the message).
    """
    for message_id in message_ids:
        try:
            runner.enqueue(
                "sms", Work.SEND_MESSAGE, message_id, job_id=f"sms-{message_id}", new=new
            )
        except (RedisError, OSError) as exc:
            log.warning(
                "SMS %s left for the sweep: queue unavailable (%s)", message_id, type(exc).__name__
            )


def claim(
    session: Session, message_ids: Sequence[int], now: datetime | None = None
) -> list[Message]:
    """Take the due messages among `message_ids` for sending, in one statement; those another
    worker has, or that are done or not yet due, are left out."""
    now = now or utcnow()
    taken = session.scalars(
        update(Message)
        .where(
            Message.id.in_(message_ids),
            Message.status == MessageStatus.PENDING,
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        )
        .values(status=MessageStatus.SENDING, claimed_at=now, attempts=Message.attempts + 1)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not taken:
        return []
    stmt = select(Message).where(Message.id.in_(taken)).order_by(Message.id)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def mark_accepted(
    session: Session, message: Message, provider_sid: str, gateway: str | None = None
) -> None:
    """The gateway took it; delivery callbacks move it on from here (and may already have).
    `gateway`: which provider took it (Message.gateway), when the sender knows."""
    if message.status == MessageStatus.SENDING:
        message.status = MessageStatus.QUEUED
    message.provider_sid = message.provider_sid or provider_sid
    message.gateway = gateway or message.gateway
    message.next_attempt_at = None
    _forget_raw_token(message)


def _forget_raw_token(message: Message) -> None:
    """A link SMS owed before tokens were derived (migration 0011) held its token until now,
    since it had to go out as written; once handed over or failed for good it needs it no more.
    """
    if message.purpose in LINK_PURPOSES:
        message.body = _RAW_TOKEN.sub("/f/[redacted]", message.body)
    elif message.purpose == STATUS_CODE_PURPOSE:  # a status code is kept until it goes, no longer
        message.body = _ONE_TIME_CODE.sub("[redacted]", message.body)


def mark_retry(session: Session, message: Message, code: str | None) -> None:
    """A passing failure: back to the outbox with a growing delay, or failed for good."""
    message.error_code = code
    if message.attempts >= MAX_ATTEMPTS:
        message.status = MessageStatus.FAILED
        message.next_attempt_at = None
        return
    delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
    message.status = MessageStatus.PENDING
    message.next_attempt_at = utcnow() + delay
    message.relayed_at = None  # owed again: the relay hands it on once it is due


def mark_rate_limited(session: Session, message: Message, retry_at: datetime) -> None:
    """The provider asked us to slow down: owed again at `retry_at`, the attempt not counted.

    A refusal for rate means the provider did not take the message, so it cannot go twice;
    and a long storm of them must not use up the attempts that would fail it for good.
    """
    hand_back(session, message, retry_at)
    message.error_code = "20429"


def hand_back(session: Session, message: Message, retry_at: datetime) -> None:
    """A claimed message never offered to the provider: owed again, the attempt not counted."""
    message.status = MessageStatus.PENDING
    message.attempts = max(0, message.attempts - 1)
    message.next_attempt_at = retry_at
    message.relayed_at = None


def mark_failed(session: Session, message: Message, code: str | None) -> None:
    message.status = MessageStatus.FAILED
    message.error_code = code
    message.next_attempt_at = None
    _forget_raw_token(message)


def due_for_dispatch(session: Session, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Owed messages whose time has come (those a lost enqueue or a retry left behind)."""
    now = now or utcnow()
    stmt = (
        select(Message.id)
        .where(Message.status == MessageStatus.PENDING, Message.next_attempt_at <= now)
        .order_by(Message.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def stale_claims(
    session: Session, timeout: timedelta = CLAIM_TIMEOUT, limit: int = 500
) -> list[Message]:
    """Messages a worker claimed and never finished: it died before or during the send."""
    cutoff = utcnow() - timeout
    stmt = (
        select(Message)
        .where(Message.status == MessageStatus.SENDING, Message.claimed_at < cutoff)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def release_claim(session: Session, message: Message) -> None:
    """The provider has no trace of it: it was never sent, so it is owed again now."""
    message.status = MessageStatus.PENDING
    message.next_attempt_at = utcnow()
    message.relayed_at = None


def withhold_if_stopped(session: Session, message: Message) -> bool:
    """A claimed message whose number sent STOP after it was owed: withheld, not sent
    (except the confirmation of that STOP itself)."""
    if message.purpose == OPT_CHOICE_PURPOSE or not has_stopped(session, message.phone):
        return False
    message.status = MessageStatus.SUPPRESSED
    message.error_code = Withheld.STOPPED.value
    message.next_attempt_at = None
    return True


def text_to_send(session: Session, message: Message, key: str) -> str:
    """The stored body with each link's token put back (`core.link_tokens.with_tokens`)."""
    return with_tokens(session, message.body, key)
