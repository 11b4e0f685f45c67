"""Who an information SMS goes to, and how it is owed: set-based, in the store, never per number.

The audience of an area is every Lebanese mobile number known there: the phones of the
applications placed in the area, and the numbers that texted or called 1766 from it (inbound
messages and calls placed in the area), each once. Numbers that sent STOP are counted and
skipped. A national broadcast reaches every such number, those of no known area included.

When a broadcast is sent, its audience is written once into recipient rows (unique per
broadcast and phone: the snapshot), then owed in chunks: one INSERT ... SELECT puts a chunk's
SMS in the outbox (`messages`, PENDING) and one UPDATE ties each recipient to its message, in
one transaction, so a chunk is owed whole or not at all and a resumed job skips what is owed.
Each slice of `SLICE` SMS falls due a little later than the one before, at `PACE_SHARE` of
the gateway's rate (`SMS_MAX_PER_SECOND`): the relay hands on only what is due, so a large
broadcast never holds an acknowledgement or a form link behind more than a slice. Broadcast
SMS are not counted toward the daily cap of notices (core/sms_policy.py): one per broadcast,
approved as above, and a family must not lose a link it asked for because the ministry
informed it that morning. STOP is checked again when each SMS is sent (`sms.jobs`), so a
number that stops meanwhile gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    false,
    func,
    insert,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session

from core.applications import Application
from core.broadcasts import Broadcast, BroadcastRecipient
from core.calls import Call
from core.db import UTCDateTime, table, utcnow
from core.geography import NATIONAL, Area, AreaLevel
from core.messages import Direction, Message, MessageStatus
from core.opt_outs import SmsOptOut
from core.scopes import AreaScoped, area_condition

LEBANESE = "+961%"  # E.164 Lebanese numbers: a number from abroad is not a resident's
PACE_SHARE = 0.5  # of the gateway's rate: the rest stays free for answers and links
SLICE = 100  # recipients falling due together: at most ~2 s of sending ahead of an answer

_R = table(BroadcastRecipient)
_M = table(Message)
_OPT_OUTS = table(SmsOptOut)


@dataclass(frozen=True)
class Audience:
    """Distinct numbers known in an area, and how many of them sent STOP."""

    total: int
    stopped: int

    @property
    def sendable(self) -> int:
        return self.total - self.stopped


def cost(segments: int, sms: int, price: Decimal) -> Decimal:
    """What `sms` messages of `segments` parts cost at `price` a segment, to the cent."""
    return (Decimal(segments * sms) * price).quantize(Decimal("0.01"))


def broadcast_area(broadcast: Broadcast) -> Area:
    """The area a broadcast was written for, rebuilt from its stored codes."""
    level = AreaLevel(broadcast.level)
    if level is AreaLevel.NATIONAL:
        return NATIONAL
    code = {
        AreaLevel.GOVERNORATE: broadcast.governorate_code,
        AreaLevel.DISTRICT: broadcast.district_code,
        AreaLevel.LOCALITY: broadcast.locality_code,
    }[level]
    return Area(
        level,
        code or "",
        broadcast.governorate_code,
        broadcast.district_code,
        broadcast.locality_code,
    )


def _known(model: type[AreaScoped], phone: Any, area: Area) -> Select[Any]:
    return select(phone.label("phone")).where(phone.like(LEBANESE), area_condition(model, area))


def _audience(area: Area) -> Subquery:
    """Each number known in `area` once (UNION removes the repeats)."""
    inbound_sms = _known(Message, Message.phone, area).where(Message.direction == Direction.INBOUND)
    inbound_calls = _known(Call, Call.phone, area).where(Call.direction == Direction.INBOUND)
    return union(_known(Application, Application.phone, area), inbound_sms, inbound_calls).subquery(
        "audience"
    )


def _with_opt_outs(audience: Subquery) -> tuple[ColumnElement[bool], object]:
    joined = audience.outerjoin(_OPT_OUTS, _OPT_OUTS.c.phone == audience.c.phone)
    return _OPT_OUTS.c.phone.is_not(None), joined


def count_audience(session: Session, area: Area) -> Audience:
    """How many numbers an information SMS to `area` would reach, and skip for STOP."""
    audience = _audience(area)
    _stopped, joined = _with_opt_outs(audience)
    stmt = select(func.count(), func.count(_OPT_OUTS.c.phone)).select_from(joined)  # type: ignore[arg-type]
    total, stopped = session.execute(stmt).one()
    return Audience(int(total), int(stopped))


def snapshot(session: Session, broadcast: Broadcast) -> Audience:
    """Write the broadcast's recipients, once, in one statement; their counts."""
    audience = _audience(broadcast_area(broadcast))
    stopped, joined = _with_opt_outs(audience)
    rows = select(literal(broadcast.id, Integer), audience.c.phone, stopped).select_from(joined)  # type: ignore[arg-type]
    session.execute(insert(_R).from_select(["broadcast_id", "phone", "stopped"], rows))
    counted = select(func.count(), func.count().filter(_R.c.stopped)).where(
        _R.c.broadcast_id == broadcast.id
    )
    total, skipped = session.execute(counted).one()
    return Audience(int(total), int(skipped))


def owe_chunk(
    session: Session,
    broadcast: Broadcast,
    after: int,
    size: int,
    due: datetime,
    spacing: timedelta = timedelta(0),
) -> tuple[int, int] | None:
    """Owe the SMS of the next `size` recipients after id `after`: the first `SLICE` due at
    `due`, each next slice `spacing` later (so the outbox releases them at the gateway's pace).

    Returns the chunk's last recipient id and how many SMS it owed (0 for a chunk a
    previous run owed already), or None when no recipient is left after `after`.
    """
    window = select(_R.c.id).where(_R.c.broadcast_id == broadcast.id, _R.c.id > after)
    ids = session.scalars(window.order_by(_R.c.id).limit(size)).all()
    if not ids:
        return None
    for n, start in enumerate(range(0, len(ids), SLICE)):
        low = ids[start - 1] if start else after
        high = ids[min(start + SLICE, len(ids)) - 1]
        rows = _messages(broadcast, _owed_between(broadcast, low, high), due + n * spacing)
        session.execute(insert(_M).from_select(list(_MESSAGE_COLUMNS), rows))
    message_id = select(_M.c.id).where(
        _M.c.phone == _R.c.phone, _M.c.purpose == purpose_of(broadcast)
    )
    tied = session.execute(
        update(_R)
        .where(_owed_between(broadcast, after, ids[-1]))
        .values(message_id=message_id.scalar_subquery())
        .returning(_R.c.id)
    )
    return int(ids[-1]), len(tied.all())


def _owed_between(broadcast: Broadcast, low: int, high: int) -> ColumnElement[bool]:
    """Its recipients with ids in (low, high] still owed an SMS (not STOP, not owed yet)."""
    return and_(
        _R.c.broadcast_id == broadcast.id,
        _R.c.id > low,
        _R.c.id <= high,
        _R.c.message_id.is_(None),
        _R.c.stopped == false(),
    )


def purpose_of(broadcast: Broadcast) -> str:
    """The purpose its SMS are stored with: one broadcast's messages, found by phone."""
    return f"broadcast:{broadcast.id}"


_MESSAGE_COLUMNS = (
    "direction",
    "phone",
    "body",
    "language",
    "purpose",
    "status",
    "segments",
    "capped",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
    "governorate_code",
    "district_code",
    "locality_code",
)


def _messages(
    broadcast: Broadcast, owed: ColumnElement[bool], due: datetime
) -> Select[tuple[object, ...]]:
    """One PENDING message a recipient, in the broadcast's area, as the outbox holds them."""
    now = utcnow()
    return select(
        literal(Direction.OUTBOUND.value, String),
        _R.c.phone,
        literal(broadcast.text, String),
        literal(broadcast.language, String),
        literal(purpose_of(broadcast), String),
        literal(MessageStatus.PENDING.value, String),
        literal(broadcast.segments, Integer),
        literal(False, Boolean),
        literal(0, Integer),
        literal(due, UTCDateTime()),
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
        literal(broadcast.governorate_code, String),
        literal(broadcast.district_code, String),
        literal(broadcast.locality_code, String),
    ).where(owed)


# --- progress -------------------------------------------------------------------------------

_SENT = {MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED}
_FAILED = {MessageStatus.FAILED, MessageStatus.UNDELIVERED}


@dataclass(frozen=True)
class Progress:
    """Where a broadcast's SMS are: owed (not yet handed over), sent, failed, skipped."""

    owed: int
    sent: int
    failed: int
    skipped: int  # STOP, at the snapshot or since

    @property
    def total(self) -> int:
        return self.owed + self.sent + self.failed + self.skipped


def progress(session: Session, broadcast: Broadcast) -> Progress:
    """Counts of the broadcast's recipients by where their SMS is."""
    mine = _R.c.broadcast_id == broadcast.id
    by_status = (
        select(_M.c.status, func.count())
        .select_from(_R.join(_M, _M.c.id == _R.c.message_id))
        .where(mine)
        .group_by(_M.c.status)
    )
    counts: dict[str, int] = {str(s): int(n) for s, n in session.execute(by_status)}
    unowed = select(func.count().filter(_R.c.stopped == false()), func.count().filter(_R.c.stopped))
    not_yet, stopped = session.execute(unowed.where(mine, _R.c.message_id.is_(None))).one()
    sent = sum(counts.get(s, 0) for s in _SENT)
    failed = sum(counts.get(s, 0) for s in _FAILED)
    suppressed = counts.get(MessageStatus.SUPPRESSED, 0)
    owed = sum(counts.values()) - sent - failed - suppressed + int(not_yet)
    return Progress(owed, sent, failed, int(stopped) + suppressed)
