"""Who may be texted: STOP and the daily cap, the two rules every SMS to a phone obeys.

`core.notifications.owe_text` is the only way to owe an SMS; it asks `withheld` first, so
the IVR, the SMS keywords, the consoles, the complaint room, list publishing and the
reminders cannot differ on them.

- **STOP is absolute.** A number that sent STOP (or Twilio's own opt-out words) is sent
  nothing from the outbox until it sends START. The only text it still gets is the
  confirmation of its STOP (and of a START, which lifts the opt-out first):
  `Occasion.OPT_CHOICE`, owed by the SMS consumer like every reply. A request it
  makes by voice or SMS is still done (a ticket is filed, a status looked up), but what it
  would have been texted is withheld.
- **The daily cap.** At most `DAILY_CAP` (3) SMS in any 24 hours to one phone among those
  it did not ask for itself (`Occasion.NOTICE`): a status pushed at someone else's request,
  a link a municipality or another caller sent to it, a correction link, the number of a
  ticket an agent logged, a reminder. A stranger can thus not pester a family, however many
  references it calls with.
- **Exempt from the cap, never from STOP:**
  `Occasion.ANSWER`, what answers the phone's own action from that phone at that moment:
  the acknowledgement of the form the family just submitted (circular part 5.1(g)), the
  ticket number of a correction it just sent through its link, a form link or a ticket
  number it asked 1766 for from that same phone. These are bounded by their own rules (one
  submission per link, three links a day, ten SMS in ten minutes) and no stranger causes them.
  `Occasion.DECISION`, the service's decision on the family's own case: the committee's
  decision on its complaint or correction, its outcome on a published list. One per
  decision, and a family must not lose it because strangers used up its day.
  Neither kind counts toward the cap.

The count is read from the messages table, so the message log is the one truth; on
PostgreSQL a transaction-scoped advisory lock on the phone makes the check and the insert
one step when two requests race (SQLite serialises writers already: `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.messages import Direction, Message, MessageStatus
from core.opt_outs import has_stopped

DAILY_CAP = 3  # notices to one phone in any `CAP_WINDOW`
CAP_WINDOW = timedelta(days=1)


class Occasion(StrEnum):
    """Why an SMS goes to a phone, which decides whether the cap applies."""

    ANSWER = "answer"  # answers the phone's own action from it: exempt from the cap
    DECISION = "decision"  # the service's decision on the family's case: exempt from the cap
    NOTICE = "notice"  # anything else: counted, and withheld past the cap
    OPT_CHOICE = "opt_choice"  # confirms the STOP or START the phone just sent: never withheld


# The purpose an `OPT_CHOICE` SMS is stored with, so the sender does not withhold it either.
OPT_CHOICE_PURPOSE = "opt_choice"


class Withheld(StrEnum):
    """Why an SMS was not sent; stored as the message's `error_code`."""

    STOPPED = "stopped"  # the number sent STOP
    DAILY_CAP = "daily_cap"  # the number had its share of notices in the last 24 hours


def withheld(session: Session, phone: str, occasion: Occasion, now: datetime) -> Withheld | None:
    """Why an SMS to `phone` must not be sent now, or None when it may.

    For a notice, the phone stays locked until the caller's transaction ends, so that a
    racing request counts this one (call it in the transaction that owes the SMS).
    """
    if occasion is Occasion.OPT_CHOICE:
        return None
    if has_stopped(session, phone):
        return Withheld.STOPPED
    if occasion is not Occasion.NOTICE:
        return None
    _lock_phone(session, phone)
    if notices_since(session, phone, now - CAP_WINDOW) >= DAILY_CAP:
        return Withheld.DAILY_CAP
    return None


def notices_since(session: Session, phone: str, since: datetime) -> int:
    """The capped SMS owed to `phone` since `since` (withheld ones do not count)."""
    stmt = select(func.count()).where(
        Message.phone == phone,
        Message.direction == Direction.OUTBOUND,
        Message.capped.is_(True),
        Message.status != MessageStatus.SUPPRESSED,
        Message.created_at > since,
    )
    return int(session.scalar(stmt) or 0)


def _lock_phone(session: Session, phone: str) -> None:
    """PostgreSQL: one transaction at a time counts and owes notices to `phone`."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(phone, 1766))))
