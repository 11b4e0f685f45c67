"""The one composer of SMS: what the domain says (`core.sayings`), in the recipient's words.

Each text is one segment wherever it can be (70 UCS-2 characters in Arabic, 160 GSM-7 in
English and French); a link's token stands as `<link N>` in the stored text (core/links.py).
"""

from __future__ import annotations

from typing import assert_never

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.references import grouped, grouped_ticket
from core.sayings import (
    ComplaintTicket,
    CorrectionDecision,
    CorrectionLink,
    CorrectionTicket,
    FormLink,
    ListResult,
    MunicipalityLink,
    NeedsOverdue,
    Receipt,
    Reply,
    Saying,
    SetPasswordLink,
    Status,
    TicketDecision,
)
from core.segments import strip_invisibles
from texts.complaint_room import correction_link_sms, correction_sms, decision_sms
from texts.lists import result_sms
from texts.needs import reminder_sms
from texts.status import status_text

# What an SMS keyword is answered (sms/keyword_work.py). A reply with no entry has no SMS of
# its own: a link asked for by SMS is answered by the link's SMS, a withheld one by silence.
REPLIES: dict[Reply, LazyString] = {
    Reply.LINK_NOT_LEBANESE: _l(
        "1766: form links are sent only to Lebanese mobile numbers. "
        "Send LINK from a Lebanese mobile."
    ),
    Reply.WINDOW_CLOSED: _l(
        "1766: forms are not being accepted at the moment, so no link can be sent."
    ),
    Reply.TOO_MANY_LINKS: _l(
        "1766: this number has had its form links for today. "
        "Use the latest one, or try again tomorrow."
    ),
    Reply.BAD_REFERENCE: _l(
        "1766: please check the reference. Send STATUS followed by the 10 digits of your reference."
    ),
    Reply.STATUS_SENT: _l(
        "1766: the status of an application is sent only to the phone number on its form."
    ),
    Reply.COMPLAINT_NOT_LEBANESE: _l(
        "1766: complaints by SMS are taken only from Lebanese mobile numbers. Please call 1766."
    ),
    Reply.COMPLAINT_EMPTY: _l(
        "1766: write your complaint after the word COMPLAINT, in the same SMS."
    ),
    Reply.HELP: _l(
        "1766: send LINK for a form, STATUS and your reference, COMPLAINT and your text, "
        "or STOP to receive no more messages. Or call 1766."
    ),
    Reply.STOPPED: _l("1766: you will receive no more messages. Send START to receive them again."),
    Reply.STARTED: _l("1766: you will receive messages from 1766 again. Send STOP to stop them."),
    Reply.TOO_MANY_MESSAGES: _l(
        "1766: too many messages from this number. Please wait before writing again, or call 1766."
    ),
    Reply.FAILED: _l(
        "1766: sorry, your message could not be handled. Please try again later, or call 1766."
    ),
}


def compose(saying: Saying, language: str) -> str:
    """The SMS that says `saying` in `language`, exactly as it is stored and sent."""
    with force_locale(language):
        return strip_invisibles(_written(saying, language))


def _written(saying: Saying, language: str) -> str:
    match saying:
        case Reply():
            return str(REPLIES[saying])
        case Status():
            return status_text(saying, language)
        case FormLink(url=url):
            return _("1766: fill the assistance form once, here: %(url)s", url=url)
        case MunicipalityLink():
            return _municipality_link(saying, language)
        case Receipt(reference=reference):
            return _(
                "1766: your form was received. Reference %(reference)s. Keep this SMS.",
                reference=grouped(reference),
            )
        case ComplaintTicket(number=number):
            return _(
                "1766: your complaint is registered under number %(number)s.",
                number=grouped_ticket(number),
            )
        case CorrectionTicket(number=number):
            return _(
                "1766: your correction request is registered under number %(number)s. "
                "You will receive the committee's decision by SMS.",
                number=grouped_ticket(number),
            )
        case TicketDecision():
            return decision_sms(saying)
        case CorrectionLink():
            return correction_link_sms(saying)
        case CorrectionDecision():
            return correction_sms(saying)
        case NeedsOverdue():
            return reminder_sms(saying)
        case ListResult():
            return result_sms(saying)
        case SetPasswordLink():
            return _set_password_link(saying)
        case _:
            assert_never(saying)


def _municipality_link(link: MunicipalityLink, language: str) -> str:
    """Signed with the municipality's name, so that the citizen trusts it."""
    return _(
        "%(place)s municipality: fill the assistance form once, here: %(url)s",
        place=link.place_ar if language == "ar" else link.place_en,
        url=link.url,
    )


def _set_password_link(link: SetPasswordLink) -> str:
    """A member of staff's set-password link, with how long it works."""
    if link.minutes < 120:
        return _(
            "1766 console: set the password of the account %(username)s within "
            "%(minutes)s minutes, once, here: %(url)s",
            username=link.username,
            minutes=link.minutes,
            url=link.url,
        )
    return _(
        "1766 console: set the password of the account %(username)s within "
        "%(hours)s hours, once, here: %(url)s",
        username=link.username,
        hours=link.minutes // 60,
        url=link.url,
    )
