"""Which backend carries outgoing SMS: the one the settings name.

It sits above the backends (and `sms/gateway.py`, whose types they share), so that neither
the interface nor a backend imports the other.
"""

from __future__ import annotations

from core.settings import Settings, SmsBackend
from sms.gateway import Gateway


def make_gateway(settings: Settings) -> Gateway:
    """The backend the settings name (imported only when chosen: Twilio's library is large)."""
    if settings.sms_backend is SmsBackend.TWILIO:
        from sms.twilio_backend import TwilioBackend

        return TwilioBackend.from_settings(settings)
    from sms.console_backend import ConsoleBackend

    return ConsoleBackend()
