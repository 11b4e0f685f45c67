"""What the service says to a citizen or a focal point, as keys and their values: never words.

The domain decides what is said (a link, a reference, a ticket's number, why a family is not
on the list); `texts/` says it in the recipient's language, by SMS (`texts.sms.compose`) or by
voice (`texts.voice`). Core code that owes an SMS takes the composer from its caller as a
`Compose`, so the words stay out of the domain and every SMS is written in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.tickets import TicketStatus


class Reply(StrEnum):
    """What a citizen who asked by voice or SMS is told when there is nothing more to it."""

    LINK_SENT = "link_sent"  # the form's link is on its way by SMS
    WINDOW_CLOSED = "window_closed"  # forms are not being accepted: no link
    TOO_MANY_LINKS = "too_many_links"  # the number had its links for today
    SMS_STOPPED = "sms_stopped"  # the number sent STOP: no SMS can go to it
    SMS_CAPPED = "sms_capped"  # the number had its share of SMS for today
    STATUS_SENT = "status_sent"  # a status goes only to the phone on the application
    CALLBACK_NOTED = "callback_noted"  # a volunteer will call back
    # By SMS only: the keywords' own answers (core/keywords.py)
    LINK_NOT_LEBANESE = "link_not_lebanese"  # LINK from a number that is not a Lebanese mobile
    COMPLAINT_NOT_LEBANESE = "complaint_not_lebanese"
    COMPLAINT_EMPTY = "complaint_empty"  # COMPLAINT with nothing after it
    BAD_REFERENCE = "bad_reference"  # STATUS with no reference, or a wrong check digit
    HELP = "help"  # HELP, or a word that is no keyword
    STOPPED = "stopped"  # STOP kept: no more messages
    STARTED = "started"  # START kept: messages again
    TOO_MANY_MESSAGES = "too_many_messages"  # past the flood limit (sms/keyword_work.py)
    FAILED = "failed"  # the message could not be handled: an apology


class Stage(StrEnum):
    """Where an application stands, as its family is told it."""

    ON_LIST = "on_list"  # selected on a published list
    OFF_LIST = "off_list"  # on a published list, not selected (the reason says why)
    INELIGIBLE = "ineligible"  # excluded by the circular's rules
    UNDER_REVIEW = "under_review"  # the committee reviews it
    BEING_ASSESSED = "being_assessed"  # received, not yet on a published list


@dataclass(frozen=True)
class Status:
    """An application's status: said to its own phone, or sent to it by SMS."""

    reference: str  # ten digits
    stage: Stage
    reason: str | None = None  # OFF_LIST: why (an `Ineligible` code or a list's reason)


@dataclass(frozen=True)
class FormLink:
    """The one-time link a citizen asked 1766 for, by voice or SMS."""

    url: str  # as stored: the token stands as `<link N>` (core/links.py)


@dataclass(frozen=True)
class MunicipalityLink:
    """The one-time link a municipality sends, signed with the municipality's name."""

    url: str
    place_ar: str = ""  # the municipality's name in Arabic ("" when it is not known)
    place_en: str = ""  # and in Latin letters, for English and French


@dataclass(frozen=True)
class Receipt:
    """Circular part 5.1(g): the family's form was received, under its reference."""

    reference: str


@dataclass(frozen=True)
class ComplaintTicket:
    """A complaint was registered under its ticket's number."""

    number: str  # eight digits


@dataclass(frozen=True)
class CorrectionTicket:
    """A correction asked for through a link was registered under its ticket's number."""

    number: str


@dataclass(frozen=True)
class TicketDecision:
    """What the complaint room decided on a complaint, with the agent's note."""

    number: str
    status: TicketStatus  # resolved, rejected, or referred to those who can act
    note: str


@dataclass(frozen=True)
class CorrectionLink:
    """A one-time link to correct the data of an application (the complaint room sends it)."""

    reference: str
    url: str


@dataclass(frozen=True)
class CorrectionDecision:
    """The committee's decision on a correction, with the reason when it is refused."""

    reference: str
    approved: bool
    reason: str = ""


@dataclass(frozen=True)
class NeedsOverdue:
    """A focal point's municipality has not filed the week's needs by the deadline."""

    week_start: date


@dataclass(frozen=True)
class ListResult:
    """A published list's outcome for one family: selected, or not and why."""

    reference: str
    selected: bool
    reason: str | None = None  # when not selected
    voucher_code: str | None = None  # when selected: the voucher issued at publication


@dataclass(frozen=True)
class SetPasswordLink:
    """A member of staff's one-time link to set the account's password (core/password_resets)."""

    username: str
    url: str  # as stored: the token stands as `<reset N>` (core/reset_tokens.py)
    minutes: int  # how long it stays valid


Saying = (
    Reply
    | Status
    | FormLink
    | MunicipalityLink
    | Receipt
    | ComplaintTicket
    | CorrectionTicket
    | TicketDecision
    | CorrectionLink
    | CorrectionDecision
    | NeedsOverdue
    | ListResult
    | SetPasswordLink
)
Compose = Callable[[Saying, str], str]  # (what, language) -> the SMS's text (texts.sms.compose)
