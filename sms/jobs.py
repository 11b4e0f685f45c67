"""Worker jobs for SMS: send one owed message, and sweep up what was left behind.

Both are safe to run twice and at the same time: a message is claimed in the store before
the gateway is called, and a claim whose worker died is checked against the provider before
the message is sent again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import notifications, resends
from core.db import utcnow
from core.delivery_codes import FailureKind, twilio_failure
from core.link_tokens import LinkTokenLost
from core.messages import Message, MessageStatus
from core.queue import Work, job_settings, job_transaction, make_runner
from core.settings import Settings, SmsBackend
from sms.gateway import (
    Gateway,
    OutgoingSms,
    PermanentSendError,
    RateLimitedError,
    RetryableSendError,
    SendResult,
    UncertainSendError,
    status_callback_url,
)
from sms.gateway_choice import make_gateway
from sms.send_rate import SendRate
from web import metrics

log = logging.getLogger(__name__)
_choosing = threading.Lock()
_chosen: tuple[Settings, Gateway] | None = None  # the settings jobs last ran with, their gateway
_given: Gateway | None = None  # one given by `use_gateway`, whatever the settings


def use_gateway(gateway: Gateway | None) -> None:
    """Jobs send through `gateway` whatever their settings (a test recording what is sent,
    a Twilio paced its own way); None gives them back the gateway their settings name."""
    global _given
    _given = gateway


def gateway() -> Gateway:
    """The gateway jobs send through: the one the settings they run with name, built once for
    that settings object, so an app with other settings never sends through an earlier one's."""
    global _chosen
    if _given is not None:
        return _given
    settings = job_settings()
    with _choosing:  # a batch's sender threads ask at once: one gateway, built once
        if _chosen is None or _chosen[0] is not settings:
            redis_url = settings.redis_url
            built = _paced_twilio(settings, redis_url) if redis_url else make_gateway(settings)
            _chosen = settings, built
        return _chosen[1]


def _paced_twilio(settings: Settings, redis_url: str) -> Gateway:
    """With Redis: Twilio at SMS_MAX_PER_SECOND from our sender, shared by every worker (as
    the primary or the fallback; the other provider is not paced by Twilio's rate)."""
    if SmsBackend.TWILIO not in (settings.sms_backend, settings.messaging.sms_fallback):
        return make_gateway(settings)
    sender = settings.twilio_messaging_service_sid or settings.twilio_from_number or "default"
    pace = SendRate(Redis.from_url(redis_url), sender, settings.sms_max_per_second)
    return make_gateway(settings, twilio_pace=pace)


def send_message(message_id: int) -> None:
    """Hand one owed message to the gateway, once."""
    send_messages([message_id])


# Seconds a batch keeps the claims it has not used yet: far inside the sweep's CLAIM_TIMEOUT,
# so a claim is never presumed dead while its worker may still send it.
BATCH_BUDGET = 20.0
SEND_THREADS = 8  # sends of one batch waiting on the provider at once
_senders: tuple[int, ThreadPoolExecutor] | None = None  # the process it was made in, the pool
# What to do with a message once the gateway answered: a `notifications` change and its value.
Settlement = tuple[int, Callable[[Session, Message, Any], None], Any]


def send_messages(message_ids: list[int]) -> None:
    """Hand a batch of owed messages to the gateway, each once (what the relay queues).

    One transaction claims them all and one records every answer, so a batch costs the
    store two commits, not two per message; up to `SEND_THREADS` sends wait on the provider
    at once (its answer takes a round trip over the internet). A refusal for rate stops the
    batch: the messages not yet offered are handed back unsent, owed again after the pause,
    as are those the time budget did not reach. A message whose answer was lost stays
    claimed, for the sweep to reconcile.
    """
    with job_transaction() as session:
        claimed = notifications.claim(session, message_ids)
        outgoing = [sms for message in claimed if (sms := _prepare(session, message))]
    batch = _Batch(time.monotonic() + BATCH_BUDGET)
    if len(outgoing) > 1:
        settled = list(_pool().map(batch.send, outgoing))
    else:
        settled = [batch.send(sms) for sms in outgoing]
    _settle([settlement for settlement in settled if settlement is not None])


class _Batch:
    """One job's sends: stopped for all of them by a refusal for rate or the time budget."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.paused_until: datetime | None = None

    def send(self, sms: OutgoingSms) -> Settlement | None:
        if self.paused_until is not None:
            return sms.message_id, notifications.hand_back, self.paused_until
        if time.monotonic() > self.deadline:
            return sms.message_id, notifications.hand_back, utcnow()
        settlement = _send(sms)
        if settlement is not None and settlement[1] is notifications.mark_rate_limited:
            self.paused_until = settlement[2]
        return settlement


def _pool() -> ThreadPoolExecutor:
    """This process's sender threads: a pool made before a fork has no threads after it."""
    global _senders
    if _senders is None or _senders[0] != os.getpid():
        _senders = os.getpid(), ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="sms-send")
    return _senders[1]


def _prepare(session: Session, message: Message) -> OutgoingSms | None:
    """The SMS to hand over for a claimed message, or None when it must not go."""
    if notifications.withhold_if_stopped(session, message):
        return None  # the number sent STOP since: nothing more goes to it
    try:
        body = notifications.text_to_send(session, message, job_settings().secret_key)
    except LinkTokenLost:
        notifications.mark_failed(session, message, "link_key")
        log.warning("SMS %s failed: its link's token cannot be derived again", message.id)
        return None
    return OutgoingSms(
        message.id,
        message.phone,
        body,
        status_callback_url(job_settings(), message.id),
        via=message.via,
    )


def _send(sms: OutgoingSms) -> Settlement | None:
    """The gateway's answer as a settlement; None leaves the claim for the sweep."""
    settlement = _hand_over(sms)
    outcome = "uncertain" if settlement is None else _OUTCOMES[settlement[1]]
    metrics.SENT.labels(outcome).inc()
    return settlement


def _hand_over(sms: OutgoingSms) -> Settlement | None:
    message_id = sms.message_id
    try:
        result = gateway().send(sms)
    except UncertainSendError:
        # Twilio may have it: leave the claim, so the sweep asks Twilio before any resend.
        log.info("SMS %s left claimed for reconciliation", message_id)
        return None
    except RateLimitedError as error:
        log.info("SMS %s refused for rate: owed again in %ss", message_id, error.retry_after)
        retry_at = utcnow() + timedelta(seconds=error.retry_after)
        return message_id, notifications.mark_rate_limited, retry_at
    except RetryableSendError as error:
        log.info("SMS %s will be retried (code %s)", message_id, error.code)
        return message_id, _retry, error.code
    except PermanentSendError as error:
        log.info("SMS %s failed for good (code %s)", message_id, error.code)
        return message_id, _refused, error
    return message_id, _accepted, result


def _accepted(session: Session, message: Message, result: SendResult) -> None:
    """The provider's id, and which provider took it (a backend that cannot say: the one
    the settings name)."""
    taken_by = result.gateway or job_settings().sms_backend.value
    notifications.mark_accepted(session, message, result.provider_sid, taken_by)


def _retry(session: Session, message: Message, code: str | None) -> None:
    """Offered again later; once offered too often, by the fallback provider if there is one."""
    notifications.mark_retry(session, message, code)
    if message.status == MessageStatus.FAILED:
        resends.by_fallback(session, job_settings().messaging, message)


def _refused(session: Session, message: Message, error: PermanentSendError) -> None:
    """Failed for good; the family's second mobile is tried when the number was at fault.
    The new try is owed now: the relay (or, without Redis, the sweep) hands it on."""
    notifications.mark_failed(session, message, error.code)
    kind = getattr(error, "failure", None)  # a gateway may say what its refusal means
    if not isinstance(kind, FailureKind):
        kind = twilio_failure(error.code)
    resends.after_refusal(session, job_settings().messaging, message, kind)


# How `/metrics` counts each answer (intake_sms_sent_total{outcome}).
_OUTCOMES = {
    _accepted: "accepted",
    notifications.mark_rate_limited: "rate_limited",
    _retry: "retry",
    _refused: "failed",
}


def _settle(settled: list[Settlement]) -> None:
    """Record the gateway's answers in one transaction of their own."""
    if not settled:
        return
    with job_transaction() as session:
        ids = [message_id for message_id, _change, _value in settled]
        messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(ids)))}
        for message_id, change, value in settled:
            if message_id in messages:
                change(session, messages[message_id], value)


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
    notifications.dispatch(make_runner(None, {Work.SEND_MESSAGE: send_message}), due)
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
