"""What the complaint room says: labels of its states and the SMS it sends to citizens.

SMS are composed in the citizen's language (the ticket's), whatever the agent's page shows.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from core.applications import Application
from core.references import grouped
from core.tickets import Ticket, TicketStatus
from texts.complaints import (
    CORRECTION_STATUSES,
    TICKET_CATEGORIES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
)

SMS_NOTE = 300  # characters of a decision note put in an SMS (the rest stays on the ticket)

# The labels central inspection shows too.
CATEGORIES = TICKET_CATEGORIES
STATUSES = TICKET_STATUSES
CHANNELS = TICKET_CHANNELS


def _number(ticket: Ticket) -> str:
    return f"{ticket.number[:4]} {ticket.number[4:]}"


def decision_sms(ticket: Ticket) -> str:
    """The citizen is told what was decided on the complaint, in their language."""
    note = (ticket.resolution or "")[:SMS_NOTE]
    with force_locale(ticket.language):
        if ticket.status == TicketStatus.RESOLVED:
            return _(
                "1766: complaint %(number)s is resolved: %(note)s",
                number=_number(ticket),
                note=note,
            )
        if ticket.status == TicketStatus.REJECTED:
            return _(
                "1766: complaint %(number)s was not upheld: %(note)s. You may call 1766.",
                number=_number(ticket),
                note=note,
            )
        return _(
            "1766: complaint %(number)s was passed on to those who can act: %(note)s",
            number=_number(ticket),
            note=note,
        )


def correction_sms(application: Application, language: str, approved: bool, reason: str) -> str:
    """The committee's decision on a correction, with the reason when it is refused."""
    reference = grouped(application.reference)
    with force_locale(language):
        if approved:
            return _(
                "1766: the correction of application %(reference)s was approved; your data "
                "are updated and will be assessed again.",
                reference=reference,
            )
        return _(
            "1766: the correction of application %(reference)s was not approved: %(reason)s",
            reference=reference,
            reason=reason[:SMS_NOTE],
        )


def correction_link_sms(application: Application, language: str, url: str) -> str:
    with force_locale(language):
        return _(
            "1766: to correct the data of application %(reference)s, use this link once: %(url)s",
            reference=grouped(application.reference),
            url=url,
        )


__all__ = ["CATEGORIES", "CHANNELS", "CORRECTION_STATUSES", "STATUSES"]
