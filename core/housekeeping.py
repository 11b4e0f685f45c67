"""Periodic clean-up jobs that keep the store small; each is safe to run at any time, twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from core import retention, status_codes, throttle, webhook_replies
from core.messaging_settings import MessagingSettings
from core.queue import job_settings, job_transaction

THROTTLE_KEEP = timedelta(days=1)  # longer than any throttle window


def purge_throttle_hits() -> int:
    """Drop counted attempts older than any window; returns how many went."""
    with job_transaction() as session:
        return throttle.purge_older_than(session, THROTTLE_KEEP)


def purge_webhook_replies() -> int:
    """Drop stored webhook replies older than any Twilio retry (they quote statuses)."""
    with job_transaction() as session:
        return webhook_replies.purge_older_than(session)


def purge_status_codes() -> int:
    """Drop the status page's one-time codes once dead and past their day's count."""
    with job_transaction() as session:
        return status_codes.purge_older_than(session)


def apply_retention(
    now: datetime | None = None, forget_copy: retention.ForgetCopy = retention.no_copy
) -> dict[str, int]:
    """Delete what has outlived its retention period (core/retention.py), batch by batch, each
    batch its own transaction; returns how many rows changed, by kind. `forget_copy` deletes a
    recording's copy at the provider (the adapter's: core does not talk to Twilio)."""
    settings = job_settings().messaging
    kinds = retention.kinds(forget_copy)
    return {name: _run(kind, settings, now) for name, kind in kinds.items()}


def _run(kind: retention.Kind, settings: MessagingSettings, now: datetime | None) -> int:
    total, after = 0, 0
    while True:
        with job_transaction() as session:
            step = kind(session, settings, now, after, retention.BATCH)
        if step.last_id is None:
            return total
        total, after = total + step.changed, step.last_id
