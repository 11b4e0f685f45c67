"""One turn of a call: what the caller hears, then what happens next; and its TwiML.

The menu's steps return `Turn`s (plain data, testable without HTTP); `render` alone knows
TwiML. After the language menu every URL carries the language (`lang`), and every prompt that
counts failed tries its `attempt`, as ASCII query parameters: a call has no session and no
cookie, each webhook is a fresh request, so Flask-Babel's locale selector finds the caller's
language only in the URL. ASCII, because Twilio signs the URL as it requested it and a
percent-encoded Arabic query would not survive Werkzeug's decoding (web/twilio_auth.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from texts.voice import Speech

PREFIX = "/ivr"


@dataclass(frozen=True)
class Voice:
    """A `<Say>` voice and the language code it must be paired with (or the Say fails)."""

    name: str
    language: str


# One table: a `<Say>` whose voice and language code do not match fails (Polly.Zeina speaks
# only with `arb`), and one Say speaks one language. No Lebanese-dialect voice exists:
# recorded prompts played with `<Play>` are the way to one.
VOICES = {
    "ar": Voice("Polly.Zeina", "arb"),
    "en": Voice("Polly.Joanna", "en-US"),
    "fr": Voice("Polly.Celine", "fr-FR"),
}


@dataclass(frozen=True)
class Target:
    """A step of the menu and the query it is called with (`lang`, `attempt`, ...)."""

    step: str
    params: Mapping[str, str] = field(default_factory=dict)

    def url(self, base_url: str) -> str:
        query = urlencode(sorted(self.params.items()))
        return f"{base_url}{PREFIX}/{self.step}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Ask:
    """Listen for keys; silence reaches the target too (`actionOnEmptyResult`), so it counts."""

    target: Target
    num_digits: int = 1
    finish_on_key: str | None = None


@dataclass(frozen=True)
class Record:
    """Record a message; `fallback` is reached when nothing was recorded (Twilio skips action)."""

    target: Target
    max_length: int
    fallback: Target


@dataclass(frozen=True)
class Redirect:
    target: Target


@dataclass(frozen=True)
class Enqueue:
    """Wait for an agent in `queue`, hearing `hold` meanwhile."""

    queue: str
    hold: Target


@dataclass(frozen=True)
class Pause:
    """Silence; a queue's hold TwiML ends with it, then Twilio asks the hold URL again."""

    seconds: int


@dataclass(frozen=True)
class Hangup:
    pass


Next = Ask | Record | Redirect | Enqueue | Pause | Hangup


@dataclass(frozen=True)
class Turn:
    speech: tuple[Speech, ...]
    next: Next

    def after(self, *speech: Speech) -> Turn:
        """The same turn, with `speech` said first (a notice before a repeated menu)."""
        return Turn((*speech, *self.speech), self.next)


def render(turn: Turn, base_url: str) -> str:
    """The TwiML of a turn; action URLs are absolute, on the public address Twilio signs."""
    response = VoiceResponse()
    step = turn.next
    if isinstance(step, Ask):
        # Speech inside the Gather: a caller who knows the menu may press before it ends.
        gather = response.gather(
            action=step.target.url(base_url),
            method="POST",
            num_digits=step.num_digits,
            action_on_empty_result=True,
            finish_on_key=step.finish_on_key,
        )
        _say(gather, turn.speech)
        return str(response)
    _say(response, turn.speech)
    if isinstance(step, Record):
        response.record(
            action=step.target.url(base_url),
            method="POST",
            max_length=step.max_length,
            play_beep=True,
        )
        response.redirect(step.fallback.url(base_url), method="POST")
    elif isinstance(step, Redirect):
        response.redirect(step.target.url(base_url), method="POST")
    elif isinstance(step, Enqueue):
        response.enqueue(step.queue, wait_url=step.hold.url(base_url), wait_url_method="POST")
    elif isinstance(step, Pause):
        response.pause(length=step.seconds)
    else:
        response.hangup()
    return str(response)


def _say(verb: VoiceResponse | Gather, speech: tuple[Speech, ...]) -> None:
    for part in speech:
        voice = VOICES[part.language]
        verb.say(" ".join(part.texts), voice=voice.name, language=voice.language)
