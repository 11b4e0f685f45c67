"""A provider's delivery report, in one shape for every provider, and how it is applied.

Each webhook (Twilio's /sms/status, the aggregator's report) maps its provider's words and
failure codes to a `DeliveryReport`; `apply_report` moves the message forward and decides,
once, what is tried next when it failed (core/resends.py), so the policy lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.delivery_codes import FailureKind
from core.messages import Message, record_status
from core.messaging_settings import MessagingSettings
from core.resends import NOT_DELIVERED, after_failure


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report, already in Twilio's words (queued/sent/delivered/undelivered/failed)."""

    message_id: int | None  # our id when the provider echoes it (Twilio's ?m=), else None
    provider_sid: str | None  # the provider's id of the message
    status: str  # the provider's word, mapped to Twilio's words
    error_code: str | None
    failure: FailureKind | None  # what a failure means (the adapter maps its provider's codes)
    gateway: str  # "twilio", "http", ...


def apply_report(
    session: Session, messaging: MessagingSettings, report: DeliveryReport
) -> list[int]:
    """Apply a report; returns ids of messages newly owed (resends) to dispatch after commit.

    Only the report that moves a message to UNDELIVERED or FAILED decides a new try: a
    status only moves forward, so a replayed, late or concurrent report finds it final
    already and owes nothing (and `resend_of` is unique besides). A report naming neither a
    message of ours nor a provider id we know is ignored. A failure whose meaning the
    provider did not give is taken as temporary: the schedule is finite.
    """
    message_id = report.message_id
    if message_id is None:
        message_id = _by_provider_sid(session, report)
    if message_id is None:
        return []
    # Locked first, so two reports on one message are applied one after the other.
    message = session.get(Message, message_id, with_for_update=True, populate_existing=True)
    if message is None:
        return []
    before = message.status
    record_status(session, message_id, report.provider_sid, report.status, report.error_code)
    if message.status == before or message.status not in NOT_DELIVERED:
        return []
    kind = report.failure or FailureKind.TEMPORARY
    resend = after_failure(session, messaging, message, kind)
    if resend is None or resend.next_attempt_at is None or resend.next_attempt_at > utcnow():
        return []  # none, or owed later: the relay (or the sweep) hands it on when it is due
    return [resend.id]


def _by_provider_sid(session: Session, report: DeliveryReport) -> int | None:
    """Our id of the message `report.gateway` knows by `report.provider_sid`, or None."""
    if not report.provider_sid:
        return None
    return session.scalar(
        select(Message.id).where(
            Message.provider_sid == report.provider_sid, Message.gateway == report.gateway
        )
    )
