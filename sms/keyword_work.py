"""What each SMS keyword does, decided in the background by the consumers (sms/consumer.py).

`decide` reads one raw SMS (`core.inbox.RawSms`), does what it asks (the work the IVR shares,
in `web.citizen_requests`), logs it in `messages` under its MessageSid (unique: a message read
twice is decided once) and owes the reply as an SMS of its own through the outbox, so STOP,
the cap and the gateway's retries apply to replies like to every other SMS. The caller holds
the transaction; nothing here commits. One number cannot flood the service: past `FLOOD` it
gets one notice, then silence.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert
from sqlalchemy.orm import Session

from core import opt_outs, throttle
from core.applications import Application, application_by_reference
from core.db import table
from core.inbox import RawSms
from core.keywords import MAX_INPUT, Command, Keyword, parse, reference_text
from core.links import OutsideWindow, TooManyLinks
from core.messages import Direction, Message, MessageStatus
from core.notifications import Sms, owe_text
from core.phones import NotLebaneseMobile, masked, normalise_mobile
from core.references import parse_reference
from core.segments import segments
from core.settings import Settings
from core.sms_policy import OPT_CHOICE_PURPOSE, Occasion
from core.tickets import TicketCategory
from web.citizen_requests import Owed, file_ticket, send_form_link, send_status, status_text

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
    text: str | None = None  # the reply SMS; None when the keyword's own SMS is the answer
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
    with force_locale(sms.language):
        answer = _flood_answer(session, sms, within_limit) or HANDLERS[sms.command.keyword](
            session, sms
        )
        reply = _owe_reply(session, sms, answer.text, answer.occasion)
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
    with force_locale(sms.language):
        reply = _owe_reply(session, sms, _apology(), Occasion.ANSWER)
    write_log(session, [_log_row(sms, Answer("failed", kept_body=""), raw)])
    return Decided("failed", reply)


def _owe_reply(
    session: Session, sms: Inbound, text: str | None, occasion: Occasion
) -> tuple[int, ...]:
    """The reply as an SMS of its own to the sender (STOP and the policy apply)."""
    if not text or not _TEXTABLE.fullmatch(sms.number):
        return ()  # nothing to say, or a sender no SMS can reach (an alphanumeric id)
    purpose = OPT_CHOICE_PURPOSE if occasion is Occasion.OPT_CHOICE else "reply"
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
    return Answer(
        "throttle_notice",
        _(
            "1766: too many messages from this number. "
            "Please wait before writing again, or call 1766."
        ),
        kept_body="",  # not read, so not kept
    )


def _keep_opt_choice(session: Session, sms: Inbound) -> None:
    if sms.sender is not None and sms.command.keyword is Keyword.STOP:
        opt_outs.stop(session, sms.sender)
    elif sms.sender is not None and sms.command.keyword is Keyword.START:
        opt_outs.start(session, sms.sender)


# -- the keywords (each runs under the sender's locale) ------------------------------------


def _link(session: Session, sms: Inbound) -> Answer:
    if sms.sender is None:
        return Answer(
            "not_lebanese",
            _(
                "1766: form links are sent only to Lebanese mobile numbers. "
                "Send LINK from a Lebanese mobile."
            ),
        )
    settings: Settings = current_app.config["INTAKE_SETTINGS"]
    try:
        owed = send_form_link(session, sms.sender, sms.language, settings, sms.sender)
    except OutsideWindow:
        return Answer(
            "window_closed",
            _("1766: forms are not being accepted at the moment, so no link can be sent."),
        )
    except TooManyLinks:
        return Answer(
            "too_many_links",
            _(
                "1766: this number has had its form links for today. "
                "Use the latest one, or try again tomorrow."
            ),
        )
    if owed.withheld is not None:  # it sent STOP: no link, and no reply
        return Answer("link_withheld")
    return Answer("link_sent", owed=owed)  # the link SMS itself is the answer


def _status(session: Session, sms: Inbound) -> Answer:
    reference = parse_reference(reference_text(sms.command.argument))
    if reference is None:  # no digits, or a wrong check digit: a slip of the thumb
        return Answer(
            "bad_reference",
            _(
                "1766: please check the reference. "
                "Send STATUS followed by the 10 digits of your reference."
            ),
        )
    application = application_by_reference(session, reference)
    if application is not None and application.phone == sms.sender:
        return Answer("status_given", status_text(application, sms.language))
    owed = _push_status(session, application)
    # One reply whether the reference exists, its phone opted out or had enough today: a
    # stranger holding a reference learns nothing about the family from it.
    return Answer(
        "status_pushed" if owed.message_ids else "status_withheld",
        _("1766: the status of an application is sent only to the phone number on its form."),
        owed,
    )


def _push_status(session: Session, application: Application | None) -> Owed:
    """The status to the family's own phone, in its language (STOP and the cap apply)."""
    if application is None:
        return Owed()
    return send_status(session, application, application.language)


def _complaint(session: Session, sms: Inbound) -> Answer:
    if sms.sender is None:
        return Answer(
            "not_lebanese",
            _(
                "1766: complaints by SMS are taken only from Lebanese mobile numbers. "
                "Please call 1766."
            ),
        )
    if not sms.command.argument:
        return Answer(
            "complaint_empty",
            _("1766: write your complaint after the word COMPLAINT, in the same SMS."),
        )
    ticket, owed = file_ticket(
        session,
        phone=sms.sender,
        channel="sms",
        language=sms.language,
        category=TicketCategory.OTHER,
        text=sms.command.argument,
    )
    # Its number comes in the SMS the ticket owes; the text is kept on the ticket alone.
    return Answer("ticket", owed=owed, kept_body=f"ticket {ticket.number}")


def _help(session: Session, sms: Inbound) -> Answer:
    outcome = "help" if sms.command.keyword is Keyword.HELP else "unknown"
    return Answer(
        outcome,
        _(
            "1766: send LINK for a form, STATUS and your reference, COMPLAINT and your text, "
            "or STOP to receive no more messages. Or call 1766."
        ),
    )


def _stop(session: Session, sms: Inbound) -> Answer:
    _keep_opt_choice(session, sms)  # another number than a Lebanese mobile is never written to
    return Answer(
        "stopped",
        _("1766: you will receive no more messages. Send START to receive them again."),
        occasion=Occasion.OPT_CHOICE,
    )


def _start(session: Session, sms: Inbound) -> Answer:
    _keep_opt_choice(session, sms)
    return Answer(
        "started",
        _("1766: you will receive messages from 1766 again. Send STOP to stop them."),
        occasion=Occasion.OPT_CHOICE,
    )


HANDLERS: dict[Keyword, Callable[[Session, Inbound], Answer]] = {
    Keyword.LINK: _link,
    Keyword.STATUS: _status,
    Keyword.COMPLAINT: _complaint,
    Keyword.HELP: _help,
    Keyword.STOP: _stop,
    Keyword.START: _start,
    Keyword.UNKNOWN: _help,
}


def _apology() -> str:
    return _(
        "1766: sorry, your message could not be handled. Please try again later, or call 1766."
    )


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
