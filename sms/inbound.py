"""SMS to 1766: keywords in Arabic, English and French at POST /sms/inbound, answered with TwiML.

`core.keywords` reads the SMS, `web.citizen_requests` does what it asks (the work the IVR
shares), and the answer is TwiML. What the citizen is owed in an SMS of its own (a form link,
a ticket number, a status pushed to the family's phone) goes through the outbox after the
commit, where it is tracked, retried and reconciled; the TwiML reply is then empty, so the
citizen gets one SMS and not two. Everything else is answered in the TwiML.

Twilio always gets TwiML, never a 500: a failure is rolled back, logged without the text or
the number, and answered with an apology. A retried request (same `MessageSid`) gets the
reply it got the first time and does nothing again. One number cannot flood the service:
past `FLOOD` it gets one notice, then silence.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from core import notifications, opt_outs, throttle
from core.applications import Application, application_by_reference
from core.db import utcnow
from core.keywords import MAX_INPUT, Command, Keyword, parse, reference_text
from core.links import OutsideWindow, TooManyLinks
from core.messages import Direction, Message, MessageStatus
from core.phones import NotLebaneseMobile, masked, normalise_mobile
from core.references import parse_reference
from core.segments import segments
from core.settings import Settings
from core.tickets import TicketCategory
from core.webhook_replies import earlier_reply, remember_reply
from web import store
from web.citizen_requests import Owed, file_ticket, send_form_link, send_status, status_text
from web.twilio_auth import twilio_webhook

log = logging.getLogger(__name__)

bp = Blueprint("sms_inbound", __name__, url_prefix="/sms")

FLOOD = throttle.Limit(10, timedelta(minutes=10))  # SMS one number may send before the notice
FLOOD_NOTICE = throttle.Limit(1, timedelta(hours=1))  # then one notice an hour, else silence
_SID = re.compile(r"[A-Za-z0-9]{1,64}")  # Twilio's shape; it also fits messages.provider_sid
_PHONE_FIELD = 20  # messages.phone


@dataclass(frozen=True)
class Inbound:
    """One SMS as Twilio posts it, read."""

    sid: str | None  # MessageSid, when it has Twilio's shape (the idempotency key)
    sender: str | None  # the Lebanese mobile it came from (E.164); None for any other number
    number: str  # the sending number as known: `sender`, or what Twilio sent, cut to fit
    body: str
    command: Command

    @property
    def language(self) -> str:
        return self.command.language


@dataclass(frozen=True)
class Answer:
    """What a keyword did: the reply, what it owes, and what the log says."""

    outcome: str  # for the service log, e.g. "link_sent"
    text: str | None = None  # the TwiML reply; None answers an empty <Response/>
    owed: Owed = field(default_factory=Owed)
    kept_body: str | None = None  # what the message log keeps instead of the text, if not it


@bp.post("/inbound")
@twilio_webhook
def inbound() -> Response:
    """One SMS to 1766: done once per MessageSid, always answered with TwiML."""
    sms = read_inbound(request.form)
    session = store.db()
    try:
        twiml, owed = _answer_once(session, sms)
    except Exception as error:  # Twilio must get TwiML whatever failed inside
        _roll_back(session)
        _log_failure(sms, error)
        with force_locale(sms.language):
            return _twiml(_render(_apology()))
    _dispatch(sms, owed)
    return _twiml(twiml)


def read_inbound(form: Mapping[str, str]) -> Inbound:
    """The fields of Twilio's request that matter here; the others are ignored (not refused)."""
    number = form.get("From", "").strip()
    try:
        sender: str | None = normalise_mobile(number)
    except NotLebaneseMobile:
        sender = None
    sid = form.get("MessageSid", "")
    body = form.get("Body", "")[:MAX_INPUT]
    return Inbound(
        sid=sid if _SID.fullmatch(sid) else None,
        sender=sender,
        number=sender or number[:_PHONE_FIELD],
        body=body,
        command=parse(body),
    )


def _answer_once(session: Session, sms: Inbound) -> tuple[str, Owed]:
    """The TwiML for `sms` and the SMS it owes; a retried MessageSid gets the first reply."""
    key = f"sms:{sms.sid}" if sms.sid else None
    earlier = earlier_reply(session, key) if key else None
    if earlier is not None:
        _log(sms, "replayed")
        return earlier, Owed()
    try:
        return _answer(session, sms, key)
    except IntegrityError:
        # A duplicate racing this request stored its reply first, and its work with it.
        session.rollback()
        earlier = earlier_reply(session, key) if key else None
        if earlier is None:
            raise
        _log(sms, "replayed")
        return earlier, Owed()


def _answer(session: Session, sms: Inbound, key: str | None) -> tuple[str, Owed]:
    """Do what `sms` asks and keep the reply with the work, in one transaction."""
    with force_locale(sms.language):
        answer = _flood_answer(session, sms) or HANDLERS[sms.command.keyword](session, sms)
    answer = _unless_stopped(session, sms, answer)
    twiml = _render(answer.text)
    _log_message(session, sms, answer)
    if key is not None:
        remember_reply(session, key, twiml)
    store.commit()
    _log(sms, answer.outcome)
    return twiml, answer.owed


def _flood_answer(session: Session, sms: Inbound) -> Answer | None:
    """None while the number stays within `FLOOD`; past it, one notice, then silence."""
    key = f"sms:in:{sms.number}"
    if throttle.take(session, key, FLOOD):
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


def _unless_stopped(session: Session, sms: Inbound, answer: Answer) -> Answer:
    """STOP is absolute (core/sms_policy.py): a stopped number is answered only to STOP/START."""
    if answer.text is None or sms.sender is None:
        return answer
    if sms.command.keyword in (Keyword.STOP, Keyword.START):
        return answer
    if not opt_outs.has_stopped(session, sms.sender):
        return answer
    return replace(answer, outcome=f"{answer.outcome}_withheld", text=None)


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
    if owed.withheld is not None:  # it sent STOP: no link, and no reply (`_unless_stopped`)
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
    )


def _start(session: Session, sms: Inbound) -> Answer:
    _keep_opt_choice(session, sms)
    return Answer(
        "started", _("1766: you will receive messages from 1766 again. Send STOP to stop them.")
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


# -- TwiML, the message log, the service log -------------------------------------------------


def _apology() -> str:
    return _(
        "1766: sorry, your message could not be handled. Please try again later, or call 1766."
    )


def _render(text: str | None) -> str:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return str(reply)


def _twiml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")


def _log_message(session: Session, sms: Inbound, answer: Answer) -> None:
    """The SMS in the message log (a complaint's text stays on its ticket only)."""
    now = utcnow()
    session.add(
        Message(
            direction=Direction.INBOUND,
            phone=sms.number,
            body=sms.body if answer.kept_body is None else answer.kept_body,
            language=sms.language,
            purpose=sms.command.keyword.value,
            status=MessageStatus.RECEIVED,
            provider_sid=sms.sid,  # unique: a racing duplicate fails here at the latest
            segments=segments(sms.body)[1],
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()


def _dispatch(sms: Inbound, owed: Owed) -> None:
    """Hand the owed SMS to the queue; committed already, so the sweep covers any failure."""
    if not owed.message_ids:
        return
    try:
        notifications.dispatch(current_app.extensions["intake.jobs"], owed.message_ids, new=True)
    except Exception as error:  # the reply stands: what is owed is in the store
        log.error("inbound SMS %s: owed SMS left for the sweep (%s)", sms.sid, type(error).__name__)


def _roll_back(session: Session) -> None:
    try:
        session.rollback()
    except Exception as error:  # a dead connection: the request's teardown discards it
        log.error("inbound SMS: rollback failed (%s)", type(error).__name__)


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
