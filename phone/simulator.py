"""/dev/phone: a trainer or developer plays the citizen against the real webhooks (development).

Each action is turned into the request Twilio would make — the same form fields, signed with
the auth token over `PUBLIC_BASE_URL` when one is set — and posted to `/sms/inbound` or the
IVR inside this process. The TwiML that comes back is read the way Twilio reads it: `<Say>` is
shown as text, `<Gather>` waits for keys, `<Redirect>` is followed, `<Record>` takes a typed
stand-in for the recording, `<Enqueue>` and `<Hangup>` end the call. SMS the service sends to
the simulated phone (replies to its SMS, links, acknowledgements, ticket numbers) are read
back from the outbox, with their delivery state: a reply shows once a consumer has decided
the message (at once on the embedded defaults, where the webhook's request decides it).
The page needs no JavaScript. It is registered only when `INTAKE_ENV=development`.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from core.link_tokens import LinkTokenLost
from core.messages import Direction, Message
from core.notifications import text_to_send
from core.phones import NotLebaneseMobile, normalise_mobile
from core.settings import Settings
from web import store

bp = Blueprint("phone_simulator", __name__, url_prefix="/dev", template_folder="templates")

HOTLINE = "+9611766"
ACCOUNT = "AC" + "0" * 32
MAX_TRANSCRIPT = 60  # lines kept in the page's session
MAX_REDIRECTS = 10  # a TwiML loop is cut short rather than followed forever


@bp.get("/phone")
def phone() -> ResponseReturnValue:
    state = _state()
    number = state["number"]
    return render_template(
        "phone_simulator.html",
        number=number,
        transcript=state["transcript"],
        waiting=state.get("waiting"),
        in_call=state.get("call_sid") is not None,
        inbox=_inbox(number),
    )


@bp.post("/phone/number")
def set_number() -> ResponseReturnValue:
    state = _state()
    typed = request.form.get("number", "")[:40]
    try:
        state["number"] = normalise_mobile(typed)
    except NotLebaneseMobile:
        state["number"] = typed.strip() or state["number"]  # a foreign caller is allowed too
    state["transcript"] = []
    state.pop("call_sid", None)
    state.pop("waiting", None)
    _save(state)
    return redirect(url_for(".phone"))


@bp.post("/phone/sms")
def send_sms() -> ResponseReturnValue:
    state = _state()
    body = request.form.get("body", "")[:1600]
    _say(state, _("you (SMS)"), body)
    fields = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": ACCOUNT,
        "From": state["number"],
        "To": HOTLINE,
        "Body": body,
        "NumSegments": "1",
        "NumMedia": "0",
    }
    twiml = _post("/sms/inbound", fields)
    for message in _parse(twiml).findall("./Message"):
        _say(state, _("1766 (SMS reply)"), "".join(message.itertext()))
    _save(state)
    return redirect(url_for(".phone"))


@bp.post("/phone/call")
def call() -> ResponseReturnValue:
    state = _state()
    state["call_sid"] = "CA" + secrets.token_hex(16)
    state.pop("waiting", None)
    _say(state, _("you"), _("(calls 1766)"))
    _run(state, "/ivr/voice", {})
    _save(state)
    return redirect(url_for(".phone"))


@bp.post("/phone/answer")
def answer() -> ResponseReturnValue:
    """Keys for a `<Gather>` (empty: silence), or the words of a `<Record>`."""
    state = _state()
    waiting = state.get("waiting")
    if not waiting or not state.get("call_sid"):
        return redirect(url_for(".phone"))
    state.pop("waiting", None)
    if waiting["kind"] == "keys":
        digits = "".join(ch for ch in request.form.get("digits", "") if ch in "0123456789*#")[:20]
        _say(state, _("you (keys)"), digits or _("(silence)"))
        _run(state, waiting["action"], {"Digits": digits})
    else:
        words = request.form.get("words", "")[:200]
        _say(state, _("you (recording)"), words or _("(silence)"))
        recording = "https://api.twilio.com/recordings/RE" + secrets.token_hex(16)
        _run(
            state,
            waiting["action"],
            {"RecordingUrl": recording, "RecordingDuration": str(max(1, len(words) // 10))},
        )
    _save(state)
    return redirect(url_for(".phone"))


@bp.post("/phone/hangup")
def hang_up() -> ResponseReturnValue:
    state = _state()
    if state.pop("call_sid", None):
        _say(state, _("you"), _("(hangs up)"))
    state.pop("waiting", None)
    _save(state)
    return redirect(url_for(".phone"))


def _run(state: dict[str, Any], path: str, extra: dict[str, str]) -> None:
    """Post one call step and follow the TwiML until it waits for the caller or ends."""
    for _hop in range(MAX_REDIRECTS):
        fields = {
            "CallSid": state["call_sid"],
            "AccountSid": ACCOUNT,
            "From": state["number"],
            "To": HOTLINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }
        root = _parse(_post(path, fields))
        next_path = None
        for verb in root:
            if verb.tag == "Say":
                _say(state, "1766", "".join(verb.itertext()))
            elif verb.tag == "Gather":
                for inner in verb:
                    if inner.tag == "Say":
                        _say(state, "1766", "".join(inner.itertext()))
                state["waiting"] = {"kind": "keys", "action": _path(verb.get("action"), path)}
                return
            elif verb.tag == "Record":
                _say(state, "1766", _("(beep: speak now)"))
                state["waiting"] = {"kind": "record", "action": _path(verb.get("action"), path)}
                return
            elif verb.tag == "Enqueue":
                _say(
                    state,
                    "1766",
                    _("(you wait in the queue %(queue)s)", queue=(verb.text or "").strip()),
                )
                state.pop("call_sid", None)
                return
            elif verb.tag == "Hangup":
                _say(state, "1766", _("(hangs up)"))
                state.pop("call_sid", None)
                return
            elif verb.tag == "Redirect":
                next_path = _path(verb.text, path)
                break
        if next_path is None:  # the TwiML ran out: Twilio ends the call
            _say(state, "1766", _("(the call ends)"))
            state.pop("call_sid", None)
            return
        path, extra = next_path, {}
    _say(state, "1766", _("(too many redirects: the simulator stopped following them)"))
    state.pop("call_sid", None)


def _post(path: str, fields: dict[str, str]) -> str:
    """What the webhook answers to Twilio's request, signed as Twilio signs it."""
    settings: Settings = current_app.config["INTAKE_SETTINGS"]
    headers = {}
    if settings.twilio_auth_token:
        validator = RequestValidator(settings.twilio_auth_token)
        headers["X-Twilio-Signature"] = validator.compute_signature(
            settings.public_base_url + path, fields
        )
    base = urlsplit(settings.public_base_url)
    response = current_app.test_client().post(
        path,
        data=fields,
        headers=headers,
        base_url=f"{base.scheme}://{base.netloc}",
    )
    if response.status_code != 200:
        answer = escape(_("(the webhook answered %(status)s)", status=response.status_code))
        return f"<Response><Say>{answer}</Say></Response>"
    return response.get_data(as_text=True)


def _parse(twiml: str) -> ET.Element:
    # Only this service's own TwiML is parsed here, never anything from outside.
    try:
        return ET.fromstring(twiml)  # noqa: S314
    except ET.ParseError:
        return ET.Element("Response")


def _path(url: str | None, current: str) -> str:
    """A TwiML URL as a path on this service (relative ones resolve against the current)."""
    if not url:
        return current
    parts = urlsplit(url)
    if parts.path.startswith("/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return current.rsplit("/", 1)[0] + "/" + url


def _inbox(number: str) -> list[dict[str, str]]:
    """The newest SMS the service sent to the simulated phone, as the phone reads them.

    The store holds `<link N>` where a link's token goes; the phone shows the token, as the
    gateway would have sent it.
    """
    stmt = (
        select(Message)
        .where(Message.phone == number, Message.direction == Direction.OUTBOUND)
        .order_by(Message.id.desc())
        .limit(10)
    )
    key = current_app.config["INTAKE_SETTINGS"].secret_key
    return [{"body": _as_read(m, key), "status": m.status} for m in store.db().scalars(stmt)]


def _as_read(message: Message, key: str) -> str:
    try:
        return text_to_send(store.db(), message, key)
    except LinkTokenLost:
        return message.body


def _state_file() -> Path:
    """Kept on disk, not in the cookie: a transcript in Arabic outgrows a cookie at once."""
    key = session.get("phone_simulator")
    if not isinstance(key, str) or not key.isalnum():
        key = session["phone_simulator"] = secrets.token_hex(16)
    folder = Path(tempfile.gettempdir()) / "intake-phone-simulator"
    folder.mkdir(exist_ok=True)
    return folder / f"{key}.json"


def _state() -> dict[str, Any]:
    path = _state_file()
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    state.setdefault("number", "+9613123456")
    state.setdefault("transcript", [])
    return state


def _say(state: dict[str, Any], who: str, text: str) -> None:
    state["transcript"] = [*state["transcript"], [who, text]][-MAX_TRANSCRIPT:]


def _save(state: dict[str, Any]) -> None:
    _state_file().write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
