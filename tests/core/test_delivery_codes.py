"""Twilio's failure codes sorted by what a family's message needs next."""

from __future__ import annotations

import pytest

from core.delivery_codes import FailureKind, twilio_failure


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("30003", FailureKind.TEMPORARY),  # the phone was off
        ("21408", FailureKind.ROUTE),  # Twilio may not send to Lebanon: the aggregator may
        ("21612", FailureKind.ROUTE),
        ("30005", FailureKind.NUMBER),  # no such handset: the second number may
        ("21610", FailureKind.FINAL),  # STOP is never routed around
        ("99999", FailureKind.TEMPORARY),  # unknown: tried again, a finite number of times
        (None, FailureKind.TEMPORARY),
    ],
)
def test_each_failure_says_what_to_try_next(code: str | None, kind: FailureKind) -> None:
    assert twilio_failure(code) is kind
