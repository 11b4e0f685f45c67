"""The pieces every step of the voice menu shares: what a request tells us, what a step returns.

A step is a plain function `(Context, CallInput) -> Outcome`. Attempts are counted in the URL
(`attempt` = failed tries so far at this prompt): Twilio keeps no state for us between
webhooks, and the count must survive any number of web processes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core.citizen_requests import Owed
from core.settings import Settings
from ivr.turns import Hangup, Redirect, Target, Turn
from texts import voice as prompts
from texts.voice import Speech

MAX_ATTEMPTS = 3  # the third invalid key or silence at one prompt ends the call politely


@dataclass(frozen=True)
class CallInput:
    """One webhook of a call, as Twilio sent it (form fields) and as we asked (query)."""

    sid: str  # CallSid; "" if absent, and then nothing is deduplicated
    number: str  # From, as Twilio wrote it
    mobile: str | None  # From as a Lebanese mobile (E.164), None if it is not one
    language: str = prompts.DEFAULT_LANGUAGE
    attempt: int = 0
    digits: str = ""
    recording_url: str | None = None
    queue_position: int | None = None
    args: Mapping[str, str] = field(default_factory=dict)

    def params(self, attempt: int = 0, **extra: str) -> dict[str, str]:
        """The query of a next step: the language always, the attempt, and `extra`."""
        return {"lang": self.language, "attempt": str(attempt), **extra}


@dataclass(frozen=True)
class Context:
    """What a step may use: the request's store session (committed by the view) and settings."""

    session: Session
    settings: Settings


@dataclass(frozen=True)
class Outcome:
    """A step's answer; `owed` is set when it did work, so that a retry gets the same reply."""

    turn: Turn
    event: str  # for the log: what happened, never a number or a reference
    owed: Owed | None = None


Step = Callable[[Context, CallInput], Outcome]


def retry(call: CallInput, again: Callable[[int], Turn], notice: Speech | None = None) -> Outcome:
    """The same prompt once more after a failed try, or goodbye after the third."""
    failures = call.attempt + 1
    said = (notice or fumbled(call),)
    if failures >= MAX_ATTEMPTS:
        return Outcome(Turn((*said, prompts.gave_up(call.language)), Hangup()), "gave-up")
    return Outcome(again(failures).after(*said), "silence" if not call.digits else "invalid")


def fumbled(call: CallInput) -> Speech:
    """What went wrong with the caller's keys: none at all, or not a choice."""
    if not call.digits:
        return prompts.not_heard(call.language)
    return prompts.not_a_choice(call.language)


def farewell(language: str, *speech: Speech) -> Turn:
    """The end of a call whose errand is done: the result, thanks, and hang up."""
    return Turn((*speech, prompts.goodbye(language)), Hangup())


def back_to_menu(language: str, *speech: Speech) -> Turn:
    """A refusal the caller can do nothing about here: say why, then the main menu again."""
    return Turn(speech, Redirect(Target("main", {"lang": language})))
