"""Navigation: the language menu, the main menu and its choices, the complaint room's queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from core.calls import COMPLAINT_ROOM_QUEUE
from core.citizen_requests import LANGUAGES
from core.clock import in_beirut
from core.db import utcnow
from ivr import calllog, errands
from ivr.flow import MAX_ATTEMPTS, CallInput, Context, Outcome, Step, retry
from ivr.turns import Ask, Enqueue, Hangup, Pause, Target, Turn
from texts import voice as prompts

LANGUAGE_KEYS = {"1": "ar", "2": "en", "3": "fr"}
HOLD_SECONDS = 30  # between two hold messages; then Twilio asks the hold URL again


def language_menu(attempt: int = 0) -> Turn:
    target = Target("language", {"attempt": str(attempt)})
    return Turn(prompts.language_menu(LANGUAGE_KEYS), Ask(target))


def welcome(ctx: Context, call: CallInput) -> Outcome:
    calllog.call_started(ctx.session, call.sid, call.number)
    return Outcome(language_menu(), "welcome")


def choose_language(ctx: Context, call: CallInput) -> Outcome:
    """1, 2, 3; silence is Arabic (most callers simply wait); another key asks again."""
    language = LANGUAGE_KEYS.get(call.digits) if call.digits else prompts.DEFAULT_LANGUAGE
    if language is None:
        if call.attempt + 1 >= MAX_ATTEMPTS:
            said = tuple(prompts.gave_up(code) for code in LANGUAGES)
            return Outcome(Turn(said, Hangup()), "gave-up")
        return Outcome(language_menu(call.attempt + 1), "invalid")
    calllog.call_language(ctx.session, call.sid, language)
    return Outcome(main_menu(replace(call, language=language)), f"language={language}")


def main_menu(call: CallInput, attempt: int = 0) -> Turn:
    return Turn((prompts.main_menu(call.language),), Ask(Target("menu", call.params(attempt))))


def show_main_menu(ctx: Context, call: CallInput) -> Outcome:
    """The menu again, after a refusal (a Redirect carries no keys, so this is its own step)."""
    return Outcome(main_menu(call), "menu")


def choose(ctx: Context, call: CallInput) -> Outcome:
    step = CHOICES.get(call.digits)
    if step is None:
        return retry(call, lambda n: main_menu(call, n))
    return step(ctx, call)


def repeat(ctx: Context, call: CallInput) -> Outcome:
    return Outcome(main_menu(call), "repeat")


def ask_reference(ctx: Context, call: CallInput) -> Outcome:
    return Outcome(errands.ask_reference(call, 0), "ask-reference")


def complaint(ctx: Context, call: CallInput) -> Outcome:
    return Outcome(errands.complaint_menu(call, 0), "ask-category")


def agent(ctx: Context, call: CallInput) -> Outcome:
    """The complaint room's queue in its hours; outside them, a recorded complaint (option 3)."""
    hours = ctx.settings.complaint_room_hours
    if not room_open(hours, utcnow()):
        # The keys go to the main menu's step: 3 is the complaint, 9 the menu.
        turn = Turn(
            (prompts.room_closed(call.language, hours),),
            Ask(Target("menu", call.params(call.attempt))),
        )
        return Outcome(turn, "room-closed")
    calllog.call_queued(ctx.session, call.sid)
    hold = Target("hold", {"lang": call.language})
    turn = Turn((prompts.hold_on(call.language),), Enqueue(COMPLAINT_ROOM_QUEUE, hold))
    return Outcome(turn, "queued")


def room_open(hours: tuple[time, time], now: datetime) -> bool:
    """Whether `now` falls in [opens, closes), Beirut time (the setting is read that way)."""
    opens, closes = hours
    return opens <= in_beirut(now).time().replace(tzinfo=None) < closes


def hold(ctx: Context, call: CallInput) -> Outcome:
    """What a queued caller hears, again and again, until an agent takes the call."""
    said = prompts.still_waiting(call.language, call.queue_position)
    return Outcome(Turn((said,), Pause(HOLD_SECONDS)), "holding")


CHOICES: dict[str, Step] = {
    "1": errands.form_link,
    "2": ask_reference,
    "3": complaint,
    "4": agent,
    "5": errands.ask_town,
    "9": repeat,
    "0": agent,
}
