"""Two providers as one `Gateway`: the primary, and the fallback for what it cannot carry.

`SMS_BACKEND=twilio,http`: Twilio may not reach a Lebanese network at all (its refusal names
the route: 21408, 21612), and a message it accepted may come back undelivered for the route
(30006). Such a message goes by the fallback: at once when the primary refuses it here, and,
when a delivery report says so, as a resend whose `via` names the fallback (core/resends.py).
A refusal that is about the family's choice (STOP) or the number itself is never tried
elsewhere: another provider would only bypass the family's word or fail the same way.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from core.delivery_codes import FailureKind, twilio_failure
from sms.gateway import Gateway, OutgoingSms, PermanentSendError, SendResult

log = logging.getLogger(__name__)

# Whether a primary's refusal means "not this way" (the fallback may carry it).
RouteRefusal = Callable[[PermanentSendError], bool]


def twilio_route_refusal(error: PermanentSendError) -> bool:
    """Twilio's codes for a destination its route cannot reach (core/delivery_codes.py)."""
    return twilio_failure(error.code) is FailureKind.ROUTE


def never(error: PermanentSendError) -> bool:
    """A primary whose refusals say nothing about the route (an aggregator's HTTP status)."""
    return False


class FallbackGateway:
    """A `Gateway` over a primary and a fallback, each named as `Message.gateway` records."""

    def __init__(
        self,
        primary: tuple[str, Gateway],
        fallback: tuple[str, Gateway],
        route_refusal: RouteRefusal = twilio_route_refusal,
    ) -> None:
        self.primary_name, self._primary = primary
        self.fallback_name, self._fallback = fallback
        self._route_refusal = route_refusal

    def send(self, sms: OutgoingSms) -> SendResult:
        if sms.via == self.fallback_name:
            return self._by_fallback(sms)
        try:
            result = self._primary.send(sms)
        except PermanentSendError as error:
            if not self._route_refusal(error):
                raise
            log.info(
                "SMS %s: %s refused the route (code %s)",
                sms.message_id,
                self.primary_name,
                error.code,
            )
            return self._by_fallback(sms)
        return dataclasses.replace(result, gateway=result.gateway or self.primary_name)

    def _by_fallback(self, sms: OutgoingSms) -> SendResult:
        result = self._fallback.send(sms)
        return dataclasses.replace(result, gateway=result.gateway or self.fallback_name)

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The primary's record, else the fallback's: a message may have gone either way."""
        return self._primary.find_sent(to, body, since) or self._fallback.find_sent(to, body, since)
