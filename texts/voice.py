"""What 1766 says on the phone, in the caller's language: the voice menu's prompts.

Every text comes from the translation catalogs (English msgids); `ivr/turns.py` turns them
into TwiML with the voice of their language. Numbers are written digit by digit ("1 2 3"): a
synthetic voice reads "123" as a hundred and twenty-three, and a caller copying a reference or
a ticket number needs the digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.references import grouped
from core.sayings import ComplaintTicket, Reply, Status
from texts.languages import NAMES
from texts.status import status_text

DEFAULT_LANGUAGE = "ar"


@dataclass(frozen=True)
class Speech:
    """Sentences in one language: one `<Say>` (Polly speaks one language per Say)."""

    language: str
    texts: tuple[str, ...]


def _speech(language: str, *sentences: LazyString) -> Speech:
    """The sentences said in `language` (each translated under its locale)."""
    with force_locale(language):
        return Speech(language, tuple(str(sentence) for sentence in sentences))


def digit_by_digit(text: str) -> str:
    """`03 123 456` → `0 3 1 2 3 4 5 6`: how numbers are read to a caller."""
    return " ".join(char for char in text if char in "0123456789")


def language_menu(keys: Mapping[str, str]) -> tuple[Speech, ...]:
    """Each choice in its own language and by its own name (العربية, English, Français)."""
    return tuple(
        _speech(
            language,
            _l(
                "Welcome to 1766. For %(language)s, press %(digit)s.",
                language=NAMES[language],
                digit=digit,
            ),
        )
        for digit, language in keys.items()
    )


def main_menu(language: str) -> Speech:
    return _speech(
        language,
        _l("For a link to the assistance form by SMS, press 1."),
        _l("To hear the status of your application, press 2."),
        _l("To make a complaint or correct your data, press 3."),
        _l("To speak to an agent, press 4."),
        _l("If you have no smartphone and want us to call you back, press 5."),
        _l("To hear this menu again, press 9."),
    )


def not_heard(language: str) -> Speech:
    return _speech(language, _l("We did not hear your choice."))


def not_a_choice(language: str) -> Speech:
    return _speech(language, _l("Sorry, that is not one of the choices."))


def goodbye(language: str) -> Speech:
    return _speech(language, _l("Thank you for calling 1766. Goodbye."))


def gave_up(language: str) -> Speech:
    """After the third failed try: polite, and the caller knows to call again."""
    return _speech(language, _l("We could not get your choice. Please call 1766 again. Goodbye."))


def apology(language: str) -> Speech:
    """Something failed on our side: said instead of an error Twilio would read as silence."""
    return _speech(
        language, _l("Sorry, something went wrong on our side. Please call 1766 again later.")
    )


def reply(said: Reply, language: str) -> Speech:
    """What a caller hears of a request's answer (core/citizen_requests.py)."""
    return _speech(language, REPLIES[said])


# -- 1: a form link -----------------------------------------------------------------------


def ask_mobile(language: str, caller_cannot_receive: bool) -> Speech:
    ask = _l("Please key in the 8 digits of a Lebanese mobile number.")
    if caller_cannot_receive:
        return _speech(language, _l("This number cannot receive our SMS."), ask)
    return _speech(language, ask)


def not_a_mobile(language: str) -> Speech:
    return _speech(language, _l("That is not a Lebanese mobile number."))


def read_back(language: str, national_number: str) -> Speech:
    return _speech(
        language,
        _l("You entered %(number)s.", number=digit_by_digit(national_number)),
        _l("To confirm, press 1. To enter it again, press 2."),
    )


# -- 2: application status ----------------------------------------------------------------


def ask_reference(language: str) -> Speech:
    return _speech(language, _l("Please key in the 10 digits of your application reference."))


def invalid_reference(language: str) -> Speech:
    return _speech(language, _l("That reference is not valid. Please check it."))


def unknown_reference(language: str, reference: str) -> Speech:
    return _speech(
        language,
        _l(
            "We found no application with the reference %(reference)s.",
            reference=digit_by_digit(reference),
        ),
    )


def spoken_status(language: str, status: Status) -> Speech:
    """The status sentence shared with SMS, its grouped reference read digit by digit."""
    reference = status.reference
    said = status_text(status, language)
    return Speech(language, (said.replace(grouped(reference), digit_by_digit(reference)),))


# -- 3: complaint or correction -----------------------------------------------------------


def complaint_categories(language: str) -> Speech:
    """In the order of `core.tickets.MENU_CATEGORIES` (digit n is the n-th category)."""
    return _speech(
        language,
        _l("If you applied and heard nothing, press 1."),
        _l("To correct the data of your application, press 2."),
        _l("If you think your family was wrongly excluded, press 3."),
        _l("To report abuse by a focal point or a distributor, press 4."),
        _l("For anything else, press 5."),
    )


def record_complaint(language: str) -> Speech:
    return _speech(
        language,
        _l(
            "After the beep, please say your complaint, with your application "
            "reference if you have one. You have two minutes. Press any key when you "
            "have finished."
        ),
    )


def nothing_recorded(language: str) -> Speech:
    return _speech(language, _l("We did not hear a message."))


def ticket_registered(language: str, ticket: ComplaintTicket) -> Speech:
    return _speech(
        language,
        _l(
            "Your complaint is registered under number %(number)s. We have also sent "
            "this number to you by SMS.",
            number=digit_by_digit(ticket.number),
        ),
    )


# -- 4 and 0: an agent ----------------------------------------------------------------------


def hold_on(language: str) -> Speech:
    return _speech(language, _l("Please hold. An agent of the complaint room will answer you."))


def room_closed(language: str, hours: tuple[time, time]) -> Speech:
    opens, closes = (moment.strftime("%H:%M") for moment in hours)
    return _speech(
        language,
        _l(
            "The complaint room is closed now. It answers from %(opens)s to "
            "%(closes)s, Beirut time.",
            opens=opens,
            closes=closes,
        ),
        _l("To record a complaint instead, press 3. To hear the menu again, press 9."),
    )


def still_waiting(language: str, position: int | None) -> Speech:
    busy = _l(
        "All our agents are busy. Please stay on the line; your call will be answered in turn."
    )
    if position is None:
        return _speech(language, busy)
    place = _l("You are number %(position)s in the queue.", position=str(position))
    return _speech(language, busy, place)


# -- 5: a call back -------------------------------------------------------------------------


def record_town(language: str) -> Speech:
    return _speech(language, _l("After the beep, please say the name of your town."))


# -- every line busy (ivr/busy.py) ----------------------------------------------------------


def lines_busy(language: str) -> Speech:
    """Said to a caller the IVR cannot take now, with the two ways that need no line."""
    return _speech(
        language,
        _l(
            "All our lines are busy. To receive the link to the form, send the word "
            "LINK by SMS to 1766. To be called back, press 1."
        ),
    )


# What a request's answer sounds like (an SMS withheld: core/sms_policy.py).
REPLIES: dict[Reply, LazyString] = {
    Reply.LINK_SENT: _l(
        "The link to the form has been sent by SMS. Please fill the form only "
        "once for your whole family."
    ),
    Reply.WINDOW_CLOSED: _l(
        "Forms are not being accepted at the moment. Please follow the "
        "announcements of your municipality."
    ),
    Reply.TOO_MANY_LINKS: _l(
        "This number has already received its form links for today. Please use "
        "the last SMS you received, or call again tomorrow."
    ),
    Reply.SMS_STOPPED: _l(
        "This number asked 1766 for no messages by sending STOP, so no SMS "
        "can be sent to it. Send START to 1766 by SMS, then call again."
    ),
    Reply.SMS_CAPPED: _l(
        "This number has already received its messages from 1766 for today. "
        "Please call again tomorrow."
    ),
    Reply.STATUS_SENT: _l(
        "For your privacy, the status has been sent by SMS to the phone number on the application."
    ),
    Reply.CALLBACK_NOTED: _l(
        "Thank you. A volunteer will call you back to fill the form with you."
    ),
}
