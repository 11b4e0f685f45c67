"""The one interface every SMS provider is reached through (RapidPro's channel types).

A backend module (`twilio_backend`, `console_backend`, later a local aggregator) implements
`Gateway`; jobs build an `OutgoingSms` from a stored message and never see the provider.
Which backend carries the messages is chosen above them all, in `sms/gateway_choice.py`.
Errors say only what the caller must do next: try again later, or never.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.settings import Settings


@dataclass(frozen=True)
class OutgoingSms:
    """One message to hand over, built from the stored `Message` row."""

    message_id: int  # our Message.id
    to: str  # E.164
    body: str
    status_callback: str | None  # full URL of the delivery receipts, see `status_callback_url`
    via: str | None = None  # the provider it must go by (Message.via); None: the primary


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message."""

    provider_sid: str
    status: str  # the provider's own status word, e.g. "queued"
    gateway: str = ""  # which provider took it (Message.gateway); "" when a backend cannot say


class SendError(Exception):
    """The provider did not take the message; `code` is its error code, when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableSendError(SendError):
    """Not sent this time (rate limit, provider or network trouble): try again later."""


class RateLimitedError(RetryableSendError):
    """The provider refused for rate (HTTP 429, Twilio 20429): it did not take the message;
    send the same one again after `retry_after` seconds, without counting an attempt."""

    def __init__(self, message: str, code: str | None, retry_after: float) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class Pacer(Protocol):
    """A send rate shared by every sender process (sms/send_rate.py)."""

    def wait_turn(self) -> None: ...

    def back_off(self, seconds: float) -> float: ...


class UncertainSendError(RetryableSendError):
    """The provider may have accepted it and cannot say: reconcile before sending again."""


class PermanentSendError(SendError):
    """This message can never be sent (bad number, opted out, landline…): do not retry."""


class Gateway(Protocol):
    """What a provider backend offers."""

    def send(self, sms: OutgoingSms) -> SendResult:
        """Hand the message over once; raise a `SendError` if it was not accepted."""
        ...

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The provider's id of a message with exactly this body accepted for `to` since `since`.

        Used after a worker died mid-send, so that a message is never sent twice. Raises
        `RetryableSendError` when the provider cannot be asked: the caller must not guess.
        """
        ...


def status_callback_url(settings: Settings, message_id: int) -> str:
    """Where the provider reports delivery; `m` lets the receipt find the row without the sid."""
    return f"{settings.public_base_url}/sms/status?m={message_id}"
