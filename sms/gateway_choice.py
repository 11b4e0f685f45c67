"""Which backend carries outgoing SMS: the one the settings name, or two (`twilio,http`).

It sits above the backends (and `sms/gateway.py`, whose types they share), so that neither
the interface nor a backend imports the other.
"""

from __future__ import annotations

from core.settings import Settings, SmsBackend
from sms.gateway import Gateway, Pacer


def make_gateway(settings: Settings, twilio_pace: Pacer | None = None) -> Gateway:
    """The backend the settings name; with a fallback named too, both, as one
    (sms/fallback_gateway.py). `twilio_pace`: Twilio's shared send rate (sms/jobs.py)."""
    primary = _backend(settings, settings.sms_backend, twilio_pace)
    fallback = settings.messaging.sms_fallback
    if fallback is None:
        return primary
    from sms.fallback_gateway import FallbackGateway, never, twilio_route_refusal

    refusal = twilio_route_refusal if settings.sms_backend is SmsBackend.TWILIO else never
    return FallbackGateway(
        (settings.sms_backend.value, primary),
        (fallback.value, _backend(settings, fallback, twilio_pace)),
        refusal,
    )


def _backend(settings: Settings, backend: SmsBackend, twilio_pace: Pacer | None) -> Gateway:
    """One backend (imported only when chosen: Twilio's library is large)."""
    if backend is SmsBackend.TWILIO:
        from sms.twilio_backend import TwilioBackend

        return TwilioBackend.from_settings(settings, pace=twilio_pace)
    if backend is SmsBackend.HTTP:
        from sms.http_backend import HttpBackend

        return HttpBackend.from_settings(settings)
    from sms.console_backend import ConsoleBackend

    return ConsoleBackend()
