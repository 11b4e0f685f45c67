"""Worker jobs for SMS: send one owed message, and sweep up what was left behind.

Both are safe to run twice and at the same time: a message is claimed in the store before
the gateway is called, and a claim whose worker died is checked against the provider before
the message is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session

from core import notifications
from core.db import utcnow
from core.links import LinkTokenLost
from core.messages import Message
from core.queue import job_settings, job_transaction, make_runner
from core.settings import Settings, SmsBackend
from sms.gateway import (
    Gateway,
    OutgoingSms,
    PermanentSendError,
    RateLimitedError,
    RetryableSendError,
    UncertainSendError,
    make_gateway,
    status_callback_url,
)
from sms.send_rate import SendRate

log = logging.getLogger(__name__)
_gateway: Gateway | None = None


def gateway() -> Gateway:
    global _gateway
    if _gateway is None:
        settings = job_settings()
        redis_url = settings.redis_url
        _gateway = _paced_twilio(settings, redis_url) if redis_url else make_gateway(settings)
    return _gateway


def _paced_twilio(settings: Settings, redis_url: str) -> Gateway:
    """With Redis: Twilio at SMS_MAX_PER_SECOND from our sender, shared by every worker."""
    if settings.sms_backend is not SmsBackend.TWILIO:
        return make_gateway(settings)
    from sms.twilio_backend import TwilioBackend

    sender = settings.twilio_messaging_service_sid or settings.twilio_from_number or "default"
    pace = SendRate(Redis.from_url(redis_url), sender, settings.sms_max_per_second)
    return TwilioBackend.from_settings(settings, pace=pace)


def send_message(message_id: int) -> None:
    """Hand one owed message to the gateway, once."""
    with job_transaction() as session:
        message = notifications.claim(session, message_id)
        if message is None:
            return  # sent already, claimed by another worker, or not yet due
        if notifications.withhold_if_stopped(session, message):
            return  # the number sent STOP since: nothing more goes to it
        try:
            body = notifications.text_to_send(session, message, job_settings().secret_key)
        except LinkTokenLost:
            notifications.mark_failed(session, message, "link_key")
            log.warning("SMS %s failed: its link's token cannot be derived again", message_id)
            return
        outgoing = OutgoingSms(
            message.id, message.phone, body, status_callback_url(job_settings(), message.id)
        )
    try:
        result = gateway().send(outgoing)
    except UncertainSendError:
        # Twilio may have it: leave the claim, so the sweep asks Twilio before any resend.
        log.info("SMS %s left claimed for reconciliation", message_id)
        return
    except RateLimitedError as error:
        retry_at = utcnow() + timedelta(seconds=error.retry_after)
        _settle(message_id, notifications.mark_rate_limited, retry_at)
        log.info("SMS %s refused for rate: owed again in %ss", message_id, error.retry_after)
        return
    except RetryableSendError as error:
        _settle(message_id, notifications.mark_retry, error.code)
        log.info("SMS %s will be retried (code %s)", message_id, error.code)
        return
    except PermanentSendError as error:
        _settle(message_id, notifications.mark_failed, error.code)
        log.info("SMS %s failed for good (code %s)", message_id, error.code)
        return
    _settle(message_id, notifications.mark_accepted, result.provider_sid)


def _settle(message_id: int, change: Callable[[Session, Message, Any], None], value: Any) -> None:
    """Record the gateway's answer in a transaction of its own."""
    with job_transaction() as session:
        message = session.get(Message, message_id)
        if message is not None:
            change(session, message, value)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found."""

    reconciled: int  # claims whose message the provider had: recorded, not resent
    released: int  # claims the provider never saw: owed again
    dispatched: int  # owed messages enqueued (inline only: with Redis the relay does it)


def sweep(claim_timeout: timedelta = notifications.CLAIM_TIMEOUT) -> SweepReport:
    """Finish dead workers' claims, and without Redis send every owed message that is due.

    With Redis the relay (`jobs relay`, core/relay.py) hands every owed message to the queue,
    a released claim included, and relays again what Redis lost; the sweep enqueueing them as
    well would only queue each one twice. Without Redis there is no relay: the sweep is what
    sends a retry once it is due, inline.
    """
    reconciled = released = 0
    with job_transaction() as session:
        for message in notifications.stale_claims(session, timeout=claim_timeout):
            found = _find_sent(session, message)
            if found is None:
                continue  # the provider did not answer: decide next time, never guess
            if found:
                notifications.mark_accepted(session, message, found)
                reconciled += 1
            else:
                notifications.release_claim(session, message)
                released += 1
        due = [] if job_settings().redis_url else notifications.due_for_dispatch(session)
    notifications.dispatch(make_runner(None), due)
    return SweepReport(reconciled, released, len(due))


def _find_sent(session: Session, message: Message) -> str | None:
    """The provider's id if it has the message, "" if it surely has not, None if unknown."""
    since = (message.claimed_at or message.created_at) - timedelta(minutes=1)
    try:
        body = notifications.text_to_send(session, message, job_settings().secret_key)
        return gateway().find_sent(message.phone, body, since) or ""
    except LinkTokenLost:
        return ""  # it cannot have been sent with a token that cannot be made
    except RetryableSendError:
        return None
