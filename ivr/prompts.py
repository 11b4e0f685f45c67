"""What 1766 says on the phone, in the caller's language, and the voice that says it.

Every text comes from the translation catalogs (English msgids). Numbers are written digit by
digit ("1 2 3"): a synthetic voice reads "123" as a hundred and twenty-three, and a caller
copying a reference or a ticket number needs the digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from flask_babel import force_locale
from flask_babel import gettext as _

from core.references import grouped
from web.i18n import NAMES


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
DEFAULT_LANGUAGE = "ar"


@dataclass(frozen=True)
class Speech:
    """Sentences in one language: one `<Say>` (Polly speaks one language per Say)."""

    language: str
    texts: tuple[str, ...]


def digit_by_digit(text: str) -> str:
    """`03 123 456` → `0 3 1 2 3 4 5 6`: how numbers are read to a caller."""
    return " ".join(char for char in text if char in "0123456789")


def language_menu(keys: Mapping[str, str]) -> tuple[Speech, ...]:
    """Each choice in its own language and by its own name (العربية, English, Français)."""
    said = []
    for digit, language in keys.items():
        with force_locale(language):
            text = _(
                "Welcome to 1766. For %(language)s, press %(digit)s.",
                language=NAMES[language],
                digit=digit,
            )
        said.append(Speech(language, (text,)))
    return tuple(said)


def main_menu(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _("For a link to the assistance form by SMS, press 1."),
                _("To hear the status of your application, press 2."),
                _("To make a complaint or correct your data, press 3."),
                _("To speak to an agent, press 4."),
                _("If you have no smartphone and want us to call you back, press 5."),
                _("To hear this menu again, press 9."),
            ),
        )


def not_heard(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("We did not hear your choice."),))


def not_a_choice(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("Sorry, that is not one of the choices."),))


def goodbye(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("Thank you for calling 1766. Goodbye."),))


def gave_up(language: str) -> Speech:
    """After the third failed try: polite, and the caller knows to call again."""
    with force_locale(language):
        return Speech(
            language, (_("We could not get your choice. Please call 1766 again. Goodbye."),)
        )


def apology(language: str) -> Speech:
    """Something failed on our side: said instead of an error Twilio would read as silence."""
    with force_locale(language):
        return Speech(
            language, (_("Sorry, something went wrong on our side. Please call 1766 again later."),)
        )


# -- 1: a form link -----------------------------------------------------------------------


def link_sent(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "The link to the form has been sent by SMS. Please fill the form only "
                    "once for your whole family."
                ),
            ),
        )


def ask_mobile(language: str, caller_cannot_receive: bool) -> Speech:
    with force_locale(language):
        ask = _("Please key in the 8 digits of a Lebanese mobile number.")
        if caller_cannot_receive:
            return Speech(language, (_("This number cannot receive our SMS."), ask))
        return Speech(language, (ask,))


def not_a_mobile(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("That is not a Lebanese mobile number."),))


def read_back(language: str, national_number: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _("You entered %(number)s.", number=digit_by_digit(national_number)),
                _("To confirm, press 1. To enter it again, press 2."),
            ),
        )


def window_closed(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "Forms are not being accepted at the moment. Please follow the "
                    "announcements of your municipality."
                ),
            ),
        )


def too_many_links(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "This number has already received its form links for today. Please use "
                    "the last SMS you received, or call again tomorrow."
                ),
            ),
        )


# -- 2: application status ----------------------------------------------------------------


def ask_reference(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("Please key in the 10 digits of your application reference."),))


def invalid_reference(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("That reference is not valid. Please check it."),))


def unknown_reference(language: str, reference: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "We found no application with the reference %(reference)s.",
                    reference=digit_by_digit(reference),
                ),
            ),
        )


def spoken_status(language: str, status_text: str, reference: str) -> Speech:
    """The status sentence shared with SMS, its grouped reference read digit by digit."""
    return Speech(language, (status_text.replace(grouped(reference), digit_by_digit(reference)),))


def status_sent_by_sms(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "For your privacy, the status has been sent by SMS to the phone number on "
                    "the application."
                ),
            ),
        )


# -- 3: complaint or correction -----------------------------------------------------------


def complaint_categories(language: str) -> Speech:
    """In the order of `core.tickets.MENU_CATEGORIES` (digit n is the n-th category)."""
    with force_locale(language):
        return Speech(
            language,
            (
                _("If you applied and heard nothing, press 1."),
                _("To correct the data of your application, press 2."),
                _("If you think your family was wrongly excluded, press 3."),
                _("To report abuse by a focal point or a distributor, press 4."),
                _("For anything else, press 5."),
            ),
        )


def record_complaint(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "After the beep, please say your complaint, with your application "
                    "reference if you have one. You have two minutes. Press any key when you "
                    "have finished."
                ),
            ),
        )


def nothing_recorded(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("We did not hear a message."),))


def ticket_registered(language: str, number: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "Your complaint is registered under number %(number)s. We have also sent "
                    "this number to you by SMS.",
                    number=digit_by_digit(number),
                ),
            ),
        )


# -- 4 and 0: an agent ----------------------------------------------------------------------


def hold_on(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language, (_("Please hold. An agent of the complaint room will answer you."),)
        )


def room_closed(language: str, hours: tuple[time, time]) -> Speech:
    opens, closes = (moment.strftime("%H:%M") for moment in hours)
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "The complaint room is closed now. It answers from %(opens)s to "
                    "%(closes)s, Beirut time.",
                    opens=opens,
                    closes=closes,
                ),
                _("To record a complaint instead, press 3. To hear the menu again, press 9."),
            ),
        )


def still_waiting(language: str, position: int | None) -> Speech:
    with force_locale(language):
        busy = _(
            "All our agents are busy. Please stay on the line; your call will be answered in turn."
        )
        if position is None:
            return Speech(language, (busy,))
        place = _("You are number %(position)s in the queue.", position=str(position))
        return Speech(language, (busy, place))


# -- 5: a call back -------------------------------------------------------------------------


def record_town(language: str) -> Speech:
    with force_locale(language):
        return Speech(language, (_("After the beep, please say the name of your town."),))


def callback_noted(language: str) -> Speech:
    with force_locale(language):
        return Speech(
            language,
            (_("Thank you. A volunteer will call you back to fill the form with you."),),
        )


# -- an SMS withheld (core/sms_policy.py) ---------------------------------------------------


def sms_withheld(language: str, stopped: bool) -> Speech:
    """Why the link asked for cannot be texted: the number sent STOP, or had its share today."""
    with force_locale(language):
        if stopped:
            return Speech(
                language,
                (
                    _(
                        "This number asked 1766 for no messages by sending STOP, so no SMS "
                        "can be sent to it. Send START to 1766 by SMS, then call again."
                    ),
                ),
            )
        return Speech(
            language,
            (
                _(
                    "This number has already received its messages from 1766 for today. "
                    "Please call again tomorrow."
                ),
            ),
        )


# -- every line busy (ivr/busy.py) ----------------------------------------------------------


def lines_busy(language: str) -> Speech:
    """Said to a caller the IVR cannot take now, with the two ways that need no line."""
    with force_locale(language):
        return Speech(
            language,
            (
                _(
                    "All our lines are busy. To receive the link to the form, send the word "
                    "LINK by SMS to 1766. To be called back, press 1."
                ),
            ),
        )
