"""The complaint room's labels, shown by its console and by central inspection alike.

Keys are the stored values of `core`'s enums.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.corrections import CorrectionStatus
from core.tickets import TicketCategory, TicketChannel, TicketStatus

Labels = dict[str, LazyString]

TICKET_CATEGORIES: Labels = {
    TicketCategory.INFORMATION: _l("Information (applied, heard nothing)"),
    TicketCategory.CORRECTION: _l("Data correction"),
    TicketCategory.ELIGIBILITY: _l("Eligibility or exclusion"),
    TicketCategory.MISCONDUCT: _l("Misconduct or a request for money by an official"),
    TicketCategory.DISTRIBUTION: _l("Distribution"),
    TicketCategory.NO_LOCAL_OFFICE: _l("No municipality or mukhtar in the town"),
    TicketCategory.OTHER: _l("Other"),
}

TICKET_STATUSES: Labels = {
    TicketStatus.OPEN: _l("Open"),
    TicketStatus.IN_PROGRESS: _l("In progress"),
    TicketStatus.RESOLVED: _l("Resolved"),
    TicketStatus.REJECTED: _l("Rejected"),
    TicketStatus.REFERRED: _l("Referred"),
}

TICKET_CHANNELS: Labels = {
    TicketChannel.IVR: _l("Voice recording"),
    TicketChannel.SMS: _l("SMS"),
    TicketChannel.AGENT: _l("Agent"),
    TicketChannel.WEB: _l("Correction link"),
    TicketChannel.STAFF: _l("Raised by staff"),
}

CORRECTION_STATUSES: Labels = {
    CorrectionStatus.PENDING: _l("Awaiting the committee"),
    CorrectionStatus.APPROVED: _l("Approved"),
    CorrectionStatus.REJECTED: _l("Rejected"),
}
