"""The 1766 voice menu: Twilio's voice webhooks under /ivr/, answered with TwiML.

Every webhook is signed by Twilio (403 otherwise) and always answered with TwiML: a 500 would
leave the caller in silence, so a failure is rolled back, logged without personal data, and
apologised for. Steps that do work (a link, a status SMS, a ticket, a call back) keep their
reply under `call:{CallSid}:{step}:{attempt}` in the same transaction, so a retried webhook
gets the same TwiML and makes nothing twice.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Request, Response, current_app, request
from sqlalchemy.exc import IntegrityError

from core.citizen_requests import LANGUAGES, Owed
from core.notifications import dispatch
from core.phones import NotLebaneseMobile, masked, normalise_mobile
from core.settings import Settings
from core.webhook_replies import earlier_reply, remember_reply
from ivr import busy, calllog, errands, menu
from ivr.flow import MAX_ATTEMPTS, CallInput, Context, Step
from ivr.turns import Hangup, Turn, render
from texts import voice as prompts
from web import metrics, store
from web.overload import STORE_TROUBLE
from web.twilio_auth import twilio_webhook

log = logging.getLogger(__name__)

bp = Blueprint("ivr", __name__, url_prefix="/ivr")

_SID = re.compile(r"[A-Za-z0-9]{1,64}")
_KEYS = re.compile(r"[0-9*#]{1,40}")
_SECONDS = re.compile(r"[0-9]{1,6}")  # ASCII digits only (str.isdigit accepts "٣")
MAX_RECORDING_URL = 300  # tickets.recording_url and callback_requests.town_recording_url
FAILED_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


@bp.post("/voice")
@twilio_webhook
def voice() -> Response:
    """The call arrives: the language menu."""
    return answer("voice", menu.welcome)


@bp.post("/language")
@twilio_webhook
def language() -> Response:
    return answer("language", menu.choose_language)


@bp.post("/main")
@twilio_webhook
def main() -> Response:
    return answer("main", menu.show_main_menu)


@bp.post("/menu")
@twilio_webhook
def choice() -> Response:
    """The main menu's keys; 1 may send a link at once, so it is deduplicated."""
    return answer("menu", menu.choose, work=True)


@bp.post("/link/number")
@twilio_webhook
def link_number() -> Response:
    return answer("link/number", errands.keyed_mobile)


@bp.post("/link/confirm")
@twilio_webhook
def link_confirm() -> Response:
    return answer("link/confirm", errands.confirm_mobile, work=True)


@bp.post("/status")
@twilio_webhook
def status() -> Response:
    return answer("status", errands.status, work=True)


@bp.post("/complaint")
@twilio_webhook
def complaint() -> Response:
    return answer("complaint", errands.choose_category)


@bp.post("/complaint/record")
@twilio_webhook
def complaint_record() -> Response:
    return answer("complaint/record", errands.file_complaint, work=True)


@bp.post("/callback")
@twilio_webhook
def callback() -> Response:
    return answer("callback", errands.callback, work=True)


@bp.post("/busy")
@twilio_webhook
def busy_callback() -> Response:
    """A key pressed after the busy message: 1 files a call-back (never shed: it is cheap)."""
    return answer(busy.STEP, busy.call_back, work=True)


@bp.post("/hold")
@twilio_webhook
def hold() -> Response:
    """Twilio's `waitUrl` for the complaint room's queue."""
    return answer("hold", menu.hold)


@bp.post("/call-status")
@twilio_webhook
def call_status() -> Response:
    """The number's "call status changes" callback: the call's end, length and outcome.

    Always 204 (Twilio needs no TwiML here, and retrying could not mend a bad request).
    """
    sid = _matching(_SID, request.form.get("CallSid", ""))
    duration = request.form.get("CallDuration", "")
    seconds = (
        int(duration) if duration.isascii() and duration.isdigit() and len(duration) < 7 else None
    )
    try:
        outcome = calllog.call_ended(
            store.db(), sid, request.form.get("CallStatus", "")[:20], seconds
        )
        store.commit()
    except Exception as exc:
        _roll_back()
        log.error("ivr call=%s status callback failed: %s", sid or "-", type(exc).__name__)
        return Response(status=204)
    log.info("ivr call=%s ended: %s after %s s", sid or "-", outcome, seconds)
    return Response(status=204)


def answer(step: str, handler: Step, *, work: bool = False) -> Response:
    """Run one step in one transaction and answer TwiML, whatever happens inside."""
    settings: Settings = current_app.config["INTAKE_SETTINGS"]
    call = read_call(request)
    try:
        body, owed, event = _run(step, handler, call, settings, work)
    except Exception as exc:  # Twilio must never get a 500: the caller would hear silence
        _roll_back()
        # The type only: SQL errors quote their parameters (numbers, recordings).
        log.error("ivr call=%s step=%s failed: %s", call.sid or "-", step, type(exc).__name__)
        body, owed, event = _apology(call, settings), None, "failed"
        if isinstance(exc, STORE_TROUBLE) and step != busy.STEP:
            metrics.shed("ivr")  # the store cannot take the call now: as if every line were busy
            body, event = busy.twiml(call.language if "lang" in call.args else ""), "busy"
    _dispatch(owed)
    caller = masked(call.mobile or call.number)
    log.info(
        "ivr call=%s caller=%s step=%s lang=%s attempt=%d outcome=%s",
        call.sid or "-",
        caller,
        step,
        call.language,
        call.attempt,
        event,
    )
    return Response(body, mimetype="text/xml")


def _run(
    step: str, handler: Step, call: CallInput, settings: Settings, work: bool
) -> tuple[str, Owed | None, str]:
    session = store.db()
    key = f"call:{call.sid}:{step}:{call.attempt}" if work and call.sid else None
    if key is not None and (earlier := earlier_reply(session, key)) is not None:
        return earlier, None, "repeated"
    outcome = handler(Context(session, settings), call)
    body = render(outcome.turn, settings.public_base_url)
    try:
        if key is not None and outcome.owed is not None:
            remember_reply(session, key, body)
        store.commit()
    except IntegrityError:
        # The same webhook, retried while this one ran, stored its reply first: use it.
        session.rollback()
        earlier = earlier_reply(session, key) if key is not None else None
        if earlier is None:
            raise
        return earlier, None, "repeated"
    return body, outcome.owed, outcome.event


def read_call(req: Request) -> CallInput:
    """Twilio's form fields and our query parameters, checked for shape (never trusted)."""
    number = req.form.get("From", "")[:40]
    try:
        mobile: str | None = normalise_mobile(number)
    except NotLebaneseMobile:
        mobile = None
    language = req.args.get("lang", "")
    recording = req.form.get("RecordingUrl", "")
    position = req.form.get("QueuePosition", "")
    return CallInput(
        sid=_matching(_SID, req.form.get("CallSid", "")),
        number=number,
        mobile=mobile,
        language=language if language in LANGUAGES else prompts.DEFAULT_LANGUAGE,
        attempt=_attempt(req.args.get("attempt", "")),
        digits=_matching(_KEYS, req.form.get("Digits", "").strip()),
        recording_url=recording
        if recording.startswith("https://") and len(recording) <= MAX_RECORDING_URL
        else None,
        queue_position=int(position) if position.isascii() and position.isdigit() else None,
        args=req.args.to_dict(),
    )


def _matching(pattern: re.Pattern[str], value: str) -> str:
    return value if pattern.fullmatch(value) else ""


def _attempt(raw: str) -> int:
    """Failed tries so far at this prompt (0 when absent or malformed)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 2:
        return min(int(raw), MAX_ATTEMPTS)
    return 0


def _dispatch(owed: Owed | None) -> None:
    """Enqueue the SMS the committed work owes; any failure leaves them to the sweep."""
    if not owed or not owed.message_ids:
        return
    try:
        dispatch(current_app.extensions["intake.jobs"], owed.message_ids, new=True)
    except Exception as exc:  # the reply stands: the messages are stored and owed
        log.warning("ivr: SMS %s left for the sweep (%s)", owed.message_ids, type(exc).__name__)


def _roll_back() -> None:
    try:
        store.db().rollback()
    except Exception as exc:  # the store itself is down; the apology must still go out
        log.error("ivr: rollback failed: %s", type(exc).__name__)


def _apology(call: CallInput, settings: Settings) -> str:
    try:
        return render(Turn((prompts.apology(call.language),), Hangup()), settings.public_base_url)
    except Exception as exc:
        log.error("ivr: apology could not be rendered: %s", type(exc).__name__)
        return FAILED_TWIML
