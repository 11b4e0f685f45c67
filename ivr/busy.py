"""What 1766 says when every line is busy: rendered once per process, it needs no store.

Past the IVR's limit (or when the store cannot answer) a caller hears, in Arabic, English and
French, that the lines are busy, that texting LINK to 1766 brings the form's link, and that
pressing 1 asks for a call back. Pressing 1 reaches the `busy` step, whose one write is the
call-back request (kept under the call, so a retried webhook files it once).
"""

from __future__ import annotations

from flask import current_app, request

from core.citizen_requests import LANGUAGES, ask_callback
from ivr.errands import caller_phone
from ivr.flow import CallInput, Context, Outcome
from ivr.turns import Ask, Hangup, Target, Turn, render
from texts import voice as prompts

STEP = "busy"
EXTENSION = "intake.ivr_busy"  # language -> TwiML, rendered on first use in this process


def twiml(language: str) -> str:
    """The busy message; the key pressed reaches the `busy` step with the call's language
    ("" before the caller chose one: the answer is then said in the three)."""
    rendered: dict[str, str] = current_app.extensions.setdefault(EXTENSION, {})
    if language not in rendered:
        said = tuple(prompts.lines_busy(code) for code in LANGUAGES)  # Arabic first
        turn = Turn(said, Ask(Target(STEP, {"lang": language} if language else {})))
        base_url = current_app.config["INTAKE_SETTINGS"].public_base_url
        rendered[language] = render(turn, base_url)
    return rendered[language]


def answer() -> tuple[str, int, dict[str, str]]:
    """The shed request's answer: 200, since Twilio plays only what a 200 carries."""
    language = request.args.get("lang", "")
    body = twiml(language if language in LANGUAGES else "")
    return body, 200, {"Content-Type": "text/xml; charset=utf-8"}


def call_back(ctx: Context, call: CallInput) -> Outcome:
    """1: a call-back request, the one thing written; anything else (or silence): goodbye."""
    languages = (call.language,) if "lang" in call.args else LANGUAGES
    if call.digits != "1":
        return Outcome(Turn(tuple(map(prompts.goodbye, languages)), Hangup()), "busy-left")
    done = ask_callback(ctx.session, caller_phone(call), call.language, None)
    said = tuple(prompts.reply(done.said, code) for code in languages)
    return Outcome(Turn(said, Hangup()), "busy-callback", done.owed)
