"""What is tried next when an SMS did not reach the family: later, by another provider, or to
the family's second mobile — decided once per failed message, in one place.

A new try is a new `Message` row whose `resend_of` names the failed one. That column is
unique, so a delivery report applied twice, or by two workers at once, owes at most one new
try; the failed row keeps its final status and error code, so the message log shows every
attempt. The rows of one message's tries form a chain (each `resend_of` the one before).

- **TEMPORARY** (the phone was off, the network busy): the same message, to the same number
  by the same provider, after the next wait of `SMS_RETRY_SCHEDULE`; once every wait was
  used in the chain, the failure is final.
- **ROUTE** (this provider cannot reach the destination): by the fallback provider of
  `SMS_BACKEND`, now, unless this message already went by it; otherwise as NUMBER.
- **NUMBER** (the number cannot take SMS): to the family's second mobile, now, unless the
  chain already moved to it (`second_phone_for`).
- **FINAL** (the family said STOP, or the like): nothing.

A new try never goes to a number that sent STOP, and never counts against the daily cap
(core/sms_policy.py): the family was owed one message and still is. Some messages are not
tried again at all (`NOT_RESENT`), and some never go to another number (`ONLY_THIS_NUMBER`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.applications import Application
from core.db import utcnow
from core.delivery_codes import FailureKind
from core.messages import Message, MessageStatus
from core.messaging_settings import MessagingSettings
from core.needs import REMINDER_PURPOSE
from core.notifications import STATUS_CODE_PURPOSE
from core.opt_outs import has_stopped
from core.sms_policy import OPT_CHOICE_PURPOSE

# A message whose last try ended in one of these was not delivered.
NOT_DELIVERED = (MessageStatus.UNDELIVERED, MessageStatus.FAILED)

# The confirmation of a STOP or START answers that moment only: late, or sent to another
# number, it would confuse more than inform (and after a STOP nothing more goes to the phone).
# A one-time code for /status lives ten minutes and only on the application's own phone: the
# citizen asks for a new one, which is sent to that phone again.
NOT_RESENT = frozenset({OPT_CHOICE_PURPOSE, STATUS_CODE_PURPOSE})

# Messages to a staff member's own phone (a password link, a reminder of needs to enter):
# a family's second mobile, even one equal to the staff member's number, is not theirs.
ONLY_THIS_NUMBER = frozenset({"set_password", REMINDER_PURPOSE}) | NOT_RESENT

MAX_CHAIN = 64  # far above any schedule: a guard against a loop in hand-edited rows


@dataclass(frozen=True)
class NextTry:
    """Where and when the next try at a failed message goes."""

    phone: str
    via: str | None
    at: datetime


def after_failure(
    session: Session, messaging: MessagingSettings, message: Message, kind: FailureKind
) -> Message | None:
    """Owe the next try at `message`, which just failed for good for `kind`; the new row, or
    None when nothing more is to be tried (or another report already owed it)."""
    if message.purpose in NOT_RESENT or has_resend(session, message.id):
        return None
    now = utcnow()
    chain = _chain(session, message)
    next_try = _decide(session, messaging, chain, kind, now)
    if next_try is None or has_stopped(session, next_try.phone):
        return None
    return _owe(session, message, next_try, now)


def after_refusal(
    session: Session, messaging: MessagingSettings, message: Message, kind: FailureKind
) -> Message | None:
    """Owe the next try at a message the provider refused for good when it was offered.

    A passing refusal never comes here (the outbox offers it again), and the gateway itself
    falls back to the other provider for a destination the primary refuses; so a refusal for
    the route or the number leaves the family's second mobile, and any other nothing.
    """
    if kind not in (FailureKind.ROUTE, FailureKind.NUMBER):
        return None
    return after_failure(session, messaging, message, FailureKind.NUMBER)


def by_fallback(session: Session, messaging: MessagingSettings, message: Message) -> Message | None:
    """Owe the message again by the fallback provider, if there is one not yet tried; for a
    message the primary never took however often it was offered (a provider down for hours).
    The second mobile would not help: the number was never at fault."""
    if message.purpose in NOT_RESENT or has_resend(session, message.id):
        return None
    now = utcnow()
    next_try = _by_fallback(messaging, message, now)
    if next_try is None or has_stopped(session, next_try.phone):
        return None
    return _owe(session, message, next_try, now)


def has_resend(session: Session, message_id: int) -> bool:
    """Whether a new try at this message is already owed (or was made)."""
    return bool(session.scalar(select(exists().where(Message.resend_of == message_id))))


def second_phone_for(session: Session, phone: str) -> str | None:
    """The second mobile the family with `phone` gave on its form, or None.

    A phone is not a family's key: it may head several applications (a relative's, an older
    round's). The newest application with this phone that gave a second mobile is the
    family's latest word on where else it can be reached, so that one is used.
    """
    stmt = (
        select(Application.second_phone)
        .where(Application.phone == phone, Application.second_phone.is_not(None))
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def _decide(
    session: Session,
    messaging: MessagingSettings,
    chain: list[Message],
    kind: FailureKind,
    now: datetime,
) -> NextTry | None:
    """The next try after the chain's last message (`chain[0]`) failed for `kind`."""
    message = chain[0]
    if kind is FailureKind.TEMPORARY:
        used = _temporary_tries(chain)
        if used >= len(messaging.retry_schedule):
            return None
        return NextTry(message.phone, message.via, now + messaging.retry_schedule[used])
    if kind is FailureKind.ROUTE:
        other_route = _by_fallback(messaging, message, now)
        if other_route is not None:
            return other_route
        kind = FailureKind.NUMBER  # no other provider: perhaps another number
    if kind is FailureKind.NUMBER and message.purpose not in ONLY_THIS_NUMBER:
        second = second_phone_for(session, message.phone)
        if second is not None and second not in {tried.phone for tried in chain}:
            return NextTry(second, None, now)
    return None


def _by_fallback(messaging: MessagingSettings, message: Message, now: datetime) -> NextTry | None:
    fallback = messaging.sms_fallback
    if fallback is None or fallback.value in (message.gateway, message.via):
        return None
    return NextTry(message.phone, fallback.value, now)


def _chain(session: Session, message: Message) -> list[Message]:
    """`message` and the tries before it, newest first."""
    chain = [message]
    while chain[-1].resend_of is not None and len(chain) < MAX_CHAIN:
        earlier = session.get(Message, chain[-1].resend_of)
        if earlier is None:
            break
        chain.append(earlier)
    return chain


def _temporary_tries(chain: list[Message]) -> int:
    """How many tries in the chain were the same again (same number, same route): the waits
    of the schedule already used. A move to the fallback or the second mobile is not one."""
    return sum(
        1
        for later, earlier in pairwise(chain)
        if later.phone == earlier.phone and later.via == earlier.via
    )


def _owe(session: Session, failed: Message, next_try: NextTry, now: datetime) -> Message | None:
    """Write the new try; None when a concurrent report wrote it first (`resend_of` unique)."""
    resend = Message(
        direction=failed.direction,
        phone=next_try.phone,
        body=failed.body,
        language=failed.language,
        purpose=failed.purpose,
        status=MessageStatus.PENDING,
        segments=failed.segments,
        capped=False,  # the family was owed this message once; a new try is not a new notice
        attempts=0,
        via=next_try.via,
        resend_of=failed.id,
        next_attempt_at=next_try.at,
        created_at=now,
        updated_at=now,
        governorate_code=failed.governorate_code,
        district_code=failed.district_code,
        locality_code=failed.locality_code,
    )
    try:
        with session.begin_nested():
            session.add(resend)
    except IntegrityError:
        return None
    return resend
