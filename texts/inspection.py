"""The words of central inspection's pages: the names of lists, states, channels and kinds.

Keys are the stored values of `core`'s enums; a value with no label (a state added later) is
shown as stored rather than hidden.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.calls import CallStatus
from core.corrections import CorrectionSource
from core.inspection import Kind
from core.links import Channel
from core.messages import Direction, MessageStatus
from core.tickets import TicketKind
from texts.complaints import (  # noqa: F401  (the labels both consoles show)
    CORRECTION_STATUSES,
    TICKET_CATEGORIES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
)

Labels = dict[str, LazyString]

LISTS: dict[Kind, LazyString] = {
    Kind.APPLICATIONS: _l("Applications"),
    Kind.LINKS: _l("Form links"),
    Kind.MESSAGES: _l("SMS messages"),
    Kind.CALLS: _l("Calls"),
    Kind.TICKETS: _l("Complaints"),
    Kind.CORRECTIONS: _l("Corrections"),
    Kind.USERS: _l("Staff accounts"),
    Kind.AUDIT: _l("Audit trail"),
}

LINK_CHANNELS: Labels = {
    Channel.SMS_LINK: _l("Link sent by a municipality"),
    Channel.ASSISTED: _l("Filled during a call"),
    Channel.HOTLINE: _l("Link asked for from 1766"),
    Channel.CORRECTION: _l("Correction link"),
}

DIRECTIONS: Labels = {
    Direction.INBOUND: _l("Received"),
    Direction.OUTBOUND: _l("Sent by the service"),
}

MESSAGE_STATUSES: Labels = {
    MessageStatus.PENDING: _l("Waiting to be sent"),
    MessageStatus.SENDING: _l("Being sent"),
    MessageStatus.QUEUED: _l("Accepted by the gateway"),
    MessageStatus.SENT: _l("Sent to the carrier"),
    MessageStatus.DELIVERED: _l("Delivered"),
    MessageStatus.UNDELIVERED: _l("Not delivered"),
    MessageStatus.FAILED: _l("Refused by the gateway"),
    MessageStatus.RECEIVED: _l("Received"),
    MessageStatus.SUPPRESSED: _l("Withheld: not sent (STOP or the daily limit)"),
}

CALL_STATUSES: Labels = {
    CallStatus.RINGING: _l("Ringing"),
    CallStatus.IN_PROGRESS: _l("In progress"),
    CallStatus.QUEUED: _l("Waiting in the queue"),
    CallStatus.COMPLETED: _l("Completed"),
    CallStatus.ABANDONED: _l("Hung up while waiting"),
    CallStatus.FAILED: _l("Not connected"),
}

TICKET_KINDS: Labels = {
    TicketKind.COMPLAINT: _l("Complaint"),
    TicketKind.CORRECTION: _l("Correction request"),
}

CORRECTION_SOURCES: Labels = {
    CorrectionSource.AGENT: _l("An agent, during a call"),
    CorrectionSource.CITIZEN: _l("The citizen, through a correction link"),
}
