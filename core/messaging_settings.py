"""Settings of how SMS reach families: which providers, how long to keep trying, what to keep.

`SMS_BACKEND` names one provider, or a primary and a fallback (`twilio,http`): a message the
primary refuses for its destination, or cannot deliver there, goes by the fallback.
`SMS_RETRY_SCHEDULE` is how long after each temporary delivery failure the message is sent
again (`1m,5m,30m,4h`: four more tries, then final). The retention periods are how many days
personal data that has served its purpose is kept (README, "Retention").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from core.setting_errors import SettingsError, small_int


class SmsBackend(StrEnum):
    """Which gateway carries outgoing SMS."""

    TWILIO = "twilio"  # the Twilio REST API through the official library
    HTTP = "http"  # a local aggregator over HTTP (sms/http_backend.py, SMS_HTTP_* settings)
    CONSOLE = "console"  # printed on the worker's standard output (development only)


DEFAULT_RETRY_SCHEDULE = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=4),
)
MAX_RETRIES = 12
_DURATION = re.compile(r"([0-9]{1,4})([smhd])")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class MessagingSettings:
    """The messaging part of `core.settings.Settings` (its `messaging` field)."""

    sms_fallback: SmsBackend | None = None
    retry_schedule: tuple[timedelta, ...] = DEFAULT_RETRY_SCHEDULE
    draft_retention_days: int = 30  # DRAFT_RETENTION_DAYS: unused or expired links' drafts
    message_body_retention_days: int = 90  # MESSAGE_BODY_RETENTION_DAYS: delivered SMS' text
    recording_retention_days: int = 180  # RECORDING_RETENTION_DAYS: voice-mail recordings

    @classmethod
    def from_env(cls, env: Mapping[str, str], fallback: SmsBackend | None) -> MessagingSettings:
        return cls(
            sms_fallback=fallback,
            retry_schedule=retry_schedule(env.get("SMS_RETRY_SCHEDULE")),
            draft_retention_days=_days("DRAFT_RETENTION_DAYS", env, 30),
            message_body_retention_days=_days("MESSAGE_BODY_RETENTION_DAYS", env, 90),
            recording_retention_days=_days("RECORDING_RETENTION_DAYS", env, 180),
        )


def _days(name: str, env: Mapping[str, str], default: int) -> int:
    return max(1, small_int(name, env.get(name), default, 3650))


def sms_backends(value: str | None, default: SmsBackend) -> tuple[SmsBackend, SmsBackend | None]:
    """`SMS_BACKEND`: the primary, and the fallback when two are named (`twilio,http`)."""
    if not value or not value.strip():
        return default, None
    names = [name.strip().lower() for name in value.split(",")]
    if len(names) > 2:
        raise SettingsError("SMS_BACKEND", "names at most two backends: a primary and a fallback")
    try:
        chosen = [SmsBackend(name) for name in names]
    except ValueError:
        raise SettingsError(
            "SMS_BACKEND", f"{value!r} is not twilio, http or console (or two of them)"
        ) from None
    if len(chosen) == 2 and chosen[0] is chosen[1]:
        raise SettingsError("SMS_BACKEND", "the fallback must differ from the primary")
    return chosen[0], chosen[1] if len(chosen) == 2 else None


def retry_schedule(value: str | None) -> tuple[timedelta, ...]:
    """`SMS_RETRY_SCHEDULE`: comma-separated waits like `1m,5m,30m,4h`; `none` never retries."""
    if value is None or not value.strip():
        return DEFAULT_RETRY_SCHEDULE
    if value.strip().lower() == "none":
        return ()
    waits = []
    for part in value.split(","):
        match = _DURATION.fullmatch(part.strip().lower())
        if match is None:
            reason = f"{part.strip()!r} is not a wait like 30s, 5m, 4h or 1d"
            raise SettingsError("SMS_RETRY_SCHEDULE", reason)
        waits.append(timedelta(**{_UNIT[match.group(2)]: int(match.group(1))}))
    if len(waits) > MAX_RETRIES:
        raise SettingsError("SMS_RETRY_SCHEDULE", f"at most {MAX_RETRIES} retries")
    return tuple(waits)
