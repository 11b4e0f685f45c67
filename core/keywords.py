"""The SMS keywords of 1766, in Arabic, English and French, read the way citizens type them.

Phones write the same word many ways: any case, hamza on the alef or not, ة or ه, ى or ي,
with or without tashkeel and tatweel, Arabic-Indic or Persian digits, presentation forms from
old keyboards. Everything is folded to one spelling before a word is compared, so a keyword
is recognised however it was typed; the argument is handed back as typed (a complaint is
kept in the citizen's own words, and `core.references` reads any digits itself).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from core.arabic import fold
from core.digits import to_ascii_digits

DEFAULT_LANGUAGE = "ar"  # the programme's first language, for a text that shows none
MAX_INPUT = 1600  # Twilio's limit for one inbound SMS; anything longer is cut, not read


class Keyword(StrEnum):
    """What a citizen asks 1766 for by SMS."""

    LINK = "link"  # a one-time form link to the sender
    STATUS = "status"  # where an application stands (followed by its reference)
    COMPLAINT = "complaint"  # a complaint ticket (followed by its text)
    HELP = "help"  # the list of keywords
    STOP = "stop"  # no more messages the sender did not ask for
    START = "start"  # messages again after STOP
    UNKNOWN = "unknown"  # anything else: answered with the help text


@dataclass(frozen=True)
class Command:
    """One SMS read: what is asked, the rest of the text as typed, the language to answer in."""

    keyword: Keyword
    argument: str
    language: str


# Folded spellings (see `normalise`). The language is the keyword's own; None for words shared
# by English and French (STOP, START), whose language comes from the rest of the text.
_WORDS: dict[str, tuple[Keyword, str | None]] = {
    "رابط": (Keyword.LINK, "ar"),
    "link": (Keyword.LINK, "en"),
    "lien": (Keyword.LINK, "fr"),
    "حاله": (Keyword.STATUS, "ar"),
    "status": (Keyword.STATUS, "en"),
    "statut": (Keyword.STATUS, "fr"),
    "شكوي": (Keyword.COMPLAINT, "ar"),
    "complaint": (Keyword.COMPLAINT, "en"),
    "plainte": (Keyword.COMPLAINT, "fr"),
    "مساعده": (Keyword.HELP, "ar"),
    "help": (Keyword.HELP, "en"),
    "aide": (Keyword.HELP, "fr"),
    "توقف": (Keyword.STOP, "ar"),
    "ايقاف": (Keyword.STOP, "ar"),
    "اوقف": (Keyword.STOP, "ar"),
    "arret": (Keyword.STOP, "fr"),
    "ابدا": (Keyword.START, "ar"),
    "بدء": (Keyword.START, "ar"),
    "بدا": (Keyword.START, "ar"),
    # Twilio's own opt-out and opt-in words: Twilio blocks or unblocks the number on them
    # whatever we do, so our list must agree with Twilio's.
    **dict.fromkeys(
        ("stop", "stopall", "unsubscribe", "cancel", "end", "quit"), (Keyword.STOP, None)
    ),
    **dict.fromkeys(("start", "unstop"), (Keyword.START, None)),
}
# Like Twilio, an opt-out or opt-in counts only when the SMS is the word alone: "stop sending
# me the wrong name" is a sentence, not an opt-out.
_ALONE_ONLY = frozenset({Keyword.STOP, Keyword.START})

_ARTICLE = "ال"  # "الرابط", "الحالة": the definite article does not change the request
_SPACES = re.compile(r"\s+")
# Between a keyword and its argument people type ":", "-", "#" or a comma; none is content.
_LEAD = " \t\r\n:：-–—,،.;؛#*=>"
_ARABIC_LETTER = re.compile(r"[\u0620-\u064a\u0671-\u06d3\u06fa-\u06ff\ufb50-\ufdff\ufe70-\ufefc]")
# Accented letters of French; one of them makes a text French (no English word carries them).
_FRENCH_LETTER = re.compile(r"[àâæçéèêëîïôœùûüÿ]", re.IGNORECASE)
_REFERENCE = re.compile(r"[0-9](?:[\s-]*[0-9])*")  # digits grouped by spaces or hyphens


def normalise(text: str) -> str:
    """Fold `text` to one spelling: what every way of typing the same word has in common.

    The letters are folded by `core.arabic.fold` (marks, case, the Arabic letters typed
    interchangeably, bidi marks and other invisible format characters); then digits (to
    ASCII) and spaces are made uniform.
    """
    return _SPACES.sub(" ", to_ascii_digits(fold(text[:MAX_INPUT]))).strip()


def parse(text: str) -> Command:
    """Read one SMS: its first word decides the keyword, the rest is the argument as typed."""
    text = (text or "")[:MAX_INPUT]
    word, rest = _split_first_word(text)
    found = _keyword_of(normalise(word))
    argument = rest.lstrip(_LEAD).strip()
    if found is None or (found[0] in _ALONE_ONLY and _has_content(argument)):
        return Command(Keyword.UNKNOWN, text.strip(), language_of(text))
    keyword, keyword_language = found
    return Command(keyword, argument, language_of(text, keyword_language))


def language_of(text: str, keyword_language: str | None = None) -> str:
    """The language to answer in: Arabic script wins, then French, then English.

    Arabic letters anywhere make it Arabic (a Latin keyword followed by Arabic words is from
    an Arabic reader). A French keyword or accent makes it French. A text with no letters at
    all (empty, emoji, digits) shows no language: it gets the programme's first, Arabic.
    """
    if _ARABIC_LETTER.search(text):
        return "ar"
    if keyword_language == "fr" or _FRENCH_LETTER.search(text):
        return "fr"
    if keyword_language == "en" or any(char.isalpha() for char in text):
        return "en"
    return DEFAULT_LANGUAGE


def reference_text(argument: str) -> str:
    """The typed reference in a status request, without the words around it.

    "حالة طلبي رقم ١٢٣ ٤٥٦ ٧٨٩٠" → "123 456 7890": the first run of digits, with the spaces and
    hyphens people group them with; "" when there is no digit at all.
    """
    found = _REFERENCE.search(to_ascii_digits(argument[:MAX_INPUT]))
    return found.group(0) if found else ""


def _keyword_of(word: str) -> tuple[Keyword, str | None] | None:
    if word in _WORDS:
        return _WORDS[word]
    if word.startswith(_ARTICLE) and word[len(_ARTICLE) :] in _WORDS:
        return _WORDS[word[len(_ARTICLE) :]]
    return None


def _split_first_word(text: str) -> tuple[str, str]:
    """The first word (letters and their marks, after any leading spaces or punctuation), and
    everything after it. "STATUS:123…" and "حالَـــة ١٢٣…" split before the digits."""
    start = 0
    while start < len(text) and _is_lead(text[start]):
        start += 1
    end = start
    while end < len(text) and _is_word_char(text[end]):
        end += 1
    return text[start:end], text[end:]


def _has_content(text: str) -> bool:
    """Letters or digits: "STOP." and "STOP 🙏" are the word alone, "STOP it now" is not."""
    return any(char.isalnum() for char in text)


def _is_lead(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] in ("P", "C")


def _is_word_char(char: str) -> bool:
    # Letters (tatweel is one), combining marks (tashkeel, accents) and invisible format
    # characters (bidi marks, zero-width joiners) inside a word.
    return unicodedata.category(char)[0] in ("L", "M") or unicodedata.category(char) == "Cf"
