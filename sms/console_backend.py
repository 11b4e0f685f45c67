"""The development gateway: each message is printed on standard output, nothing leaves the machine.

It prints the number and the text in full because that is the whole point on a laptop; it
never passes them to `logging`, which in production goes to shared log stores.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from sms.gateway import OutgoingSms, SendResult


class ConsoleBackend:
    """A `Gateway` that prints."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream  # None: whatever sys.stdout is when a message is sent

    def send(self, sms: OutgoingSms) -> SendResult:
        print(f"SMS to {sms.to}: {sms.body}", file=self._stream or sys.stdout, flush=True)
        # Nothing will report delivery, so the message is as far as it will go: sent.
        return SendResult(provider_sid=f"CONSOLE-{sms.message_id}", status="sent")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        # Nothing outside this process holds a record to ask; a message printed twice on a
        # laptop after a worker died harms nobody.
        return None
