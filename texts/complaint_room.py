"""What the complaint room says: labels of its states and the SMS it sends to citizens.

SMS are composed in the citizen's language (the ticket's), whatever the agent's page shows:
texts.sms.compose sets it.
"""

from __future__ import annotations

from flask_babel import gettext as _

from core.references import grouped, grouped_ticket
from core.sayings import CorrectionDecision, CorrectionLink, TicketDecision
from core.tickets import TicketStatus
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


def decision_sms(decision: TicketDecision) -> str:
    """The citizen is told what was decided on the complaint."""
    number, note = grouped_ticket(decision.number), decision.note[:SMS_NOTE]
    if decision.status == TicketStatus.RESOLVED:
        return _("1766: complaint %(number)s is resolved: %(note)s", number=number, note=note)
    if decision.status == TicketStatus.REJECTED:
        return _(
            "1766: complaint %(number)s was not upheld: %(note)s. You may call 1766.",
            number=number,
            note=note,
        )
    return _(
        "1766: complaint %(number)s was passed on to those who can act: %(note)s",
        number=number,
        note=note,
    )


def correction_sms(decision: CorrectionDecision) -> str:
    """The committee's decision on a correction, with the reason when it is refused."""
    reference = grouped(decision.reference)
    if decision.approved:
        return _(
            "1766: the correction of application %(reference)s was approved; your data "
            "are updated and will be assessed again.",
            reference=reference,
        )
    return _(
        "1766: the correction of application %(reference)s was not approved: %(reason)s",
        reference=reference,
        reason=decision.reason[:SMS_NOTE],
    )


def correction_link_sms(link: CorrectionLink) -> str:
    return _(
        "1766: to correct the data of application %(reference)s, use this link once: %(url)s",
        reference=grouped(link.reference),
        url=link.url,
    )


__all__ = ["CATEGORIES", "CHANNELS", "CORRECTION_STATUSES", "STATUSES"]
