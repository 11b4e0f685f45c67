"""What each SMS keyword does, decided in the background by the consumers (sms/consumer.py).

`decide` reads one raw SMS (`core.inbox.RawSms`), does what it asks (the work the IVR shares,
in `core.citizen_requests`), logs it in `messages` under its MessageSid (unique: a message read
twice is decided once) and owes the reply as an SMS of its own through the outbox, so STOP,
the cap and the gateway's retries apply to replies like to every other SMS. A keyword's answer
is a key (`core.sayings`), written in the sender's language by `texts.sms.compose`. The caller
holds the transaction; nothing here commits. One number cannot flood the service: past `FLOOD`
it gets one notice, then silence.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.orm import Session

from core import opt_outs, throttle
from core.applications import application_by_reference
from core.citizen_requests import Owed, ask_status, file_ticket, send_form_link
from core.db import table
from core.inbox import RawSms
from core.keywords import MAX_INPUT, Command, Keyword, parse, reference_text
from core.messages import Direction, Message, MessageStatus
from core.notifications import Sms, owe_text
from core.phones import NotLebaneseMobile, masked, normalise_mobile
from core.references import parse_reference
from core.sayings import Reply, Saying, Status
from core.segments import segments
from core.settings import Settings
from core.sms_policy import OPT_CHOICE_PURPOSE, Occasion
from core.tickets import TicketCategory
from scoring.status import status_of
from texts.sms import compose

log = logging.getLogger(__name__)

FLOOD = throttle.Limit(10, timedelta(minutes=10))  # SMS one number may send before the notice
FLOOD_NOTICE = throttle.Limit(1, timedelta(hours=1))  # then one notice an hour, else silence
_PHONE_FIELD = 20  # messages.phone
_TEXTABLE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164: a number a reply can be sent to


@dataclass(frozen=True)
class Inbound:
    """One SMS, read."""

    sid: str  # MessageSid (the idempotency key)
    sender: str | None  # the Lebanese mobile it came from (E.164); None for any other number
    number: str  # the sending number as known: `sender`, or what the provider sent, cut to fit
    body: str
    command: Command

    @property
    def language(self) -> str:
        return self.command.language


@dataclass(frozen=True)
class Answer:
    """What a keyword did: the reply, what it owes, and what the log says."""

    outcome: str  # for the service log, e.g. "link_sent"
    reply: Saying | None = None  # the reply SMS; None when the keyword's own SMS is the answer
    owed: Owed = field(default_factory=Owed)
    kept_body: str | None = None  # what the message log keeps instead of the text, if not it
    occasion: Occasion = Occasion.ANSWER


@dataclass(frozen=True)
class Decided:
    """One SMS decided: what the service log says, and the SMS to dispatch after the commit."""

    outcome: str
    message_ids: tuple[int, ...] = ()


def read_inbound(raw: RawSms) -> Inbound:
    number = raw.sender.strip()
    try:
        sender: str | None = normalise_mobile(number)
    except NotLebaneseMobile:
        sender = None
    body = raw.body[:MAX_INPUT]
    return Inbound(
        sid=raw.sid,
        sender=sender,
        number=sender or number[:_PHONE_FIELD],
        body=body,
        command=parse(body),
    )


def flood_key(raw: RawSms) -> str:
    """The flood limit's key for `raw`'s number (what `FLOOD` counts)."""
    return f"sms:in:{read_inbound(raw).number}"


def decide(
    session: Session,
    raw: RawSms,
    within_limit: bool | None = None,
    log_rows: list[dict[str, object]] | None = None,
) -> Decided:
    """Do what `raw` asks, log it and owe its reply, in the caller's transaction.

    A batch counts its numbers against `FLOOD` in one statement and says here whether this
    message is `within_limit`, and collects the message log's rows in `log_rows` to write
    them in one statement; alone (None), the message is counted and logged by itself.
    """
    sms = read_inbound(raw)
    answer = _flood_answer(session, sms, within_limit) or HANDLERS[sms.command.keyword](
        session, sms
    )
    reply = _owe_reply(session, sms, answer.reply, answer.occasion)
    row = _log_row(sms, answer, raw)
    if log_rows is None:
        write_log(session, [row])
    else:
        log_rows.append(row)
    _log(sms, answer.outcome)
    return Decided(answer.outcome, answer.owed.message_ids + reply)


def decide_failed(session: Session, raw: RawSms, error: Exception) -> Decided:
    """`decide` raised (its work was rolled back): log the SMS and owe an apology instead,
    so that the citizen hears back and the message is not read again and again."""
    sms = read_inbound(raw)
    _log_failure(sms, error)
    reply = _owe_reply(session, sms, Reply.FAILED, Occasion.ANSWER)
    write_log(session, [_log_row(sms, Answer("failed", kept_body=""), raw)])
    return Decided("failed", reply)


def _owe_reply(
    session: Session, sms: Inbound, reply: Saying | None, occasion: Occasion
) -> tuple[int, ...]:
    """The reply as an SMS of its own to the sender (STOP and the policy apply)."""
    if reply is None or not _TEXTABLE.fullmatch(sms.number):
        return ()  # nothing to say, or a sender no SMS can reach (an alphanumeric id)
    purpose = OPT_CHOICE_PURPOSE if occasion is Occasion.OPT_CHOICE else "reply"
    text = compose(reply, sms.language)
    owing = owe_text(session, Sms(sms.number, text, sms.language, purpose), occasion)
    return owing.to_dispatch


def _flood_answer(session: Session, sms: Inbound, within_limit: bool | None) -> Answer | None:
    """None while the number stays within `FLOOD`; past it, one notice, then silence."""
    if within_limit is None:
        within_limit = throttle.take(session, f"sms:in:{sms.number}", FLOOD)
    if within_limit:
        return None
    _keep_opt_choice(session, sms)  # an opt-out is honoured even past the limit
    notice_key = f"sms:in-notice:{sms.number}"
    if not throttle.take(session, notice_key, FLOOD_NOTICE):
        return Answer("throttled", kept_body="")
    return Answer("throttle_notice", Reply.TOO_MANY_MESSAGES, kept_body="")  # not read, not kept


def _keep_opt_choice(session: Session, sms: Inbound) -> None:
    if sms.sender is not None and sms.command.keyword is Keyword.STOP:
        opt_outs.stop(session, sms.sender)
    elif sms.sender is not None and sms.command.keyword is Keyword.START:
        opt_outs.start(session, sms.sender)


# -- the keywords ---------------------------------------------------------------------------


def _link(session: Session, sms: Inbound) -> Answer:
    if sms.sender is None:
        return Answer("not_lebanese", Reply.LINK_NOT_LEBANESE)
    done = send_form_link(session, sms.sender, sms.language, _settings(), sms.sender, compose)
    if done.said is Reply.LINK_SENT:
        return Answer("link_sent", owed=done.owed)  # the link SMS itself is the answer
    if done.owed.withheld is not None:  # it sent STOP: no link, and no reply
        return Answer("link_withheld")
    outcome = "window_closed" if done.said is Reply.WINDOW_CLOSED else "too_many_links"
    return Answer(outcome, done.said)


def _status(session: Session, sms: Inbound) -> Answer:
    reference = parse_reference(reference_text(sms.command.argument))
    if reference is None:  # no digits, or a wrong check digit: a slip of the thumb
        return Answer("bad_reference", Reply.BAD_REFERENCE)
    application = application_by_reference(session, reference)
    # One reply whether the reference exists, its phone opted out or had enough today: a
    # stranger holding a reference learns nothing about the family from it.
    if application is None:
        return Answer("status_withheld", Reply.STATUS_SENT)
    done = ask_status(session, application, status_of(application), sms.sender, compose)
    if isinstance(done.said, Status):  # asked from the application's own phone
        return Answer("status_given", done.said)
    outcome = "status_pushed" if done.owed.message_ids else "status_withheld"
    return Answer(outcome, done.said, done.owed)


def _complaint(session: Session, sms: Inbound) -> Answer:
    if sms.sender is None:
        return Answer("not_lebanese", Reply.COMPLAINT_NOT_LEBANESE)
    if not sms.command.argument:
        return Answer("complaint_empty", Reply.COMPLAINT_EMPTY)
    ticket, done = file_ticket(
        session,
        phone=sms.sender,
        channel="sms",
        language=sms.language,
        category=TicketCategory.OTHER,
        settings=_settings(),
        compose=compose,
        text=sms.command.argument,
    )
    # Its number comes in the SMS the ticket owes; the text is kept on the ticket alone.
    return Answer("ticket", owed=done.owed, kept_body=f"ticket {ticket.number}")


def _help(session: Session, sms: Inbound) -> Answer:
    outcome = "help" if sms.command.keyword is Keyword.HELP else "unknown"
    return Answer(outcome, Reply.HELP)


def _stop(session: Session, sms: Inbound) -> Answer:
    _keep_opt_choice(session, sms)  # another number than a Lebanese mobile is never written to
    return Answer("stopped", Reply.STOPPED, occasion=Occasion.OPT_CHOICE)


def _start(session: Session, sms: Inbound) -> Answer:
    _keep_opt_choice(session, sms)
    return Answer("started", Reply.STARTED, occasion=Occasion.OPT_CHOICE)


HANDLERS: dict[Keyword, Callable[[Session, Inbound], Answer]] = {
    Keyword.LINK: _link,
    Keyword.STATUS: _status,
    Keyword.COMPLAINT: _complaint,
    Keyword.HELP: _help,
    Keyword.STOP: _stop,
    Keyword.START: _start,
    Keyword.UNKNOWN: _help,
}


def _settings() -> Settings:
    settings: Settings = current_app.config["INTAKE_SETTINGS"]
    return settings


# -- the message log, the service log --------------------------------------------------------


def _log_row(sms: Inbound, answer: Answer, raw: RawSms) -> dict[str, object]:
    """The SMS's row in the message log (a complaint's text stays on its ticket only)."""
    return {
        "direction": Direction.INBOUND,
        "phone": sms.number,
        "body": sms.body if answer.kept_body is None else answer.kept_body,
        "language": sms.language,
        "purpose": sms.command.keyword.value,
        "status": MessageStatus.RECEIVED,
        "provider_sid": sms.sid,  # unique: a message decided twice fails here at the latest
        "segments": segments(sms.body)[1],
        "capped": False,
        "attempts": 0,
        "created_at": raw.received_at,
        "updated_at": raw.received_at,
    }


def write_log(session: Session, rows: list[dict[str, object]]) -> None:
    """The messages' rows, in one statement however many."""
    if rows:
        session.execute(insert(table(Message)), rows)


def _log(sms: Inbound, outcome: str) -> None:
    # Never the text: it is personal data (a complaint, a reference), and logs are not scoped.
    log.info(
        "inbound SMS %s from %s: keyword=%s language=%s outcome=%s",
        sms.sid,
        masked(sms.number),
        sms.command.keyword.value,
        sms.language,
        outcome,
    )


def _log_failure(sms: Inbound, error: Exception) -> None:
    # The frames but not the exception's text: a database error quotes its parameters, which
    # hold the number and the message.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "inbound SMS %s from %s (keyword=%s) failed with %s; answered with an apology\n%s",
        sms.sid,
        masked(sms.number),
        sms.command.keyword.value,
        type(error).__name__,
        frames,
    )
