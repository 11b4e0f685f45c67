"""What a provider's failure code says about a message: try again later, try another way, or stop.

Twilio's codes (its error dictionary) are sorted here once, for the delivery reports that come
back after a message was accepted and for the refusals at the moment of sending, so that the
fallback provider and the family's second number are tried for the same reasons everywhere.
A local aggregator's codes are its own; its gateway maps them to these kinds (SMS_HTTP_*).
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """What to do after a message failed."""

    TEMPORARY = "temporary"  # the phone was off, the network busy: the same again, later
    ROUTE = "route"  # this provider cannot reach this destination: the fallback provider may
    NUMBER = "number"  # the number itself cannot take SMS: the family's second number may
    FINAL = "final"  # the family said STOP (or the like): nothing more, by any way


TWILIO_CODES: dict[str, FailureKind] = {
    "30001": FailureKind.TEMPORARY,  # queue overflow
    "30002": FailureKind.TEMPORARY,  # account suspended: ours, fixed by an operator
    "30003": FailureKind.TEMPORARY,  # unreachable destination handset (off, out of coverage)
    "30008": FailureKind.TEMPORARY,  # unknown error
    "30009": FailureKind.TEMPORARY,  # missing segment
    "30010": FailureKind.TEMPORARY,  # price above the maximum: ours
    "30006": FailureKind.ROUTE,  # landline or unreachable carrier
    "30007": FailureKind.ROUTE,  # filtered by the carrier
    "30034": FailureKind.ROUTE,  # sender not registered for the destination
    "21408": FailureKind.ROUTE,  # sending to this region is not enabled
    "21612": FailureKind.ROUTE,  # the number cannot be reached by SMS from this sender
    "30004": FailureKind.NUMBER,  # blocked by the handset or its carrier
    "30005": FailureKind.NUMBER,  # unknown destination handset
    "21211": FailureKind.NUMBER,  # not a valid number
    "21614": FailureKind.NUMBER,  # not a mobile number
    "21610": FailureKind.FINAL,  # the number sent STOP to the sender
}


def twilio_failure(code: str | None) -> FailureKind:
    """The kind of a Twilio failure code; an unknown or missing one is tried again later
    (the retry schedule is finite, so a wrong guess costs a few SMS, not a family's message)."""
    return TWILIO_CODES.get(code or "", FailureKind.TEMPORARY)
