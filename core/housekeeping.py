"""Periodic clean-up jobs that keep the store small; each is safe to run at any time, twice."""

from __future__ import annotations

from datetime import timedelta

from core import throttle, webhook_replies
from core.queue import job_transaction

THROTTLE_KEEP = timedelta(days=1)  # longer than any throttle window


def purge_throttle_hits() -> int:
    """Drop counted attempts older than any window; returns how many went."""
    with job_transaction() as session:
        return throttle.purge_older_than(session, THROTTLE_KEEP)


def purge_webhook_replies() -> int:
    """Drop stored webhook replies older than any Twilio retry (they quote statuses)."""
    with job_transaction() as session:
        return webhook_replies.purge_older_than(session)
