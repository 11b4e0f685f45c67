"""The inbound SMS buffer: a Redis Stream the webhook appends to and consumers read in a group.

The webhook's whole work is one round trip: a script that appends the raw message unless the
stream already holds `max_depth` undecided ones (then the webhook answers 503 and Twilio calls
the fallback URL, which writes to the store). Consumers read with XREADGROUP in batches, commit
their decisions to the store, then XACK and XDEL, so the stream's length is the backlog. A
consumer that died leaves its messages pending in the group; after `CLAIM_IDLE` another one
takes them over with XAUTOCLAIM. A message read twice is decided once: its MessageSid is
unique in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from core.inbox import RawSms

log = logging.getLogger(__name__)

STREAM = "intake:sms:inbound"
GROUP = "deciders"
CLAIM_IDLE_MS = 30_000  # a consumer silent on a message this long is presumed dead

# Append unless full: one round trip, and the check and the append cannot be interleaved.
_OFFER = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
return 1
"""


@dataclass(frozen=True)
class Entry:
    """One buffered message as a consumer reads it."""

    entry_id: str
    raw: RawSms


class SmsBuffer:
    """The stream and its consumer group; every method may raise `redis.RedisError`."""

    def __init__(
        self,
        redis: Redis,
        max_depth: int,
        stream: str = STREAM,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self.redis = redis
        self.max_depth = max_depth
        self.stream = stream
        self.claim_idle_ms = claim_idle_ms
        self._offer = redis.register_script(_OFFER)

    def offer(self, raw: RawSms) -> bool:
        """Buffer `raw`; False when the buffer is full (nothing was written)."""
        fields: list[str] = []
        for name, value in raw.as_fields().items():
            fields += (name, value)
        return bool(self._offer(keys=[self.stream], args=[self.max_depth, *fields]))

    def ensure_group(self) -> None:
        """The consumer group, created with the stream if need be (once; later calls no-op)."""
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def read(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        """Up to `count` messages for `consumer`: a dead consumer's first, then new ones."""
        taken = self._take_over(consumer, count)
        if taken:
            return taken
        answer = self.redis.xreadgroup(
            GROUP, consumer, {self.stream: ">"}, count=count, block=block_ms or None
        )
        return [entry for _stream, rows in answer or () for entry in _entries(rows)]

    def read_own(self, consumer: str, count: int) -> list[Entry]:
        """What this consumer read and never acknowledged (it restarted, or a batch failed)."""
        answer = self.redis.xreadgroup(GROUP, consumer, {self.stream: "0"}, count=count)
        return [entry for _stream, rows in answer or () for entry in _entries(rows)]

    def _take_over(self, consumer: str, count: int) -> list[Entry]:
        answer = self.redis.xautoclaim(
            self.stream,
            GROUP,
            consumer,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=count,
        )
        rows = answer[1] if answer else []
        if rows:
            log.info("consumer %s took over %d buffered SMS", consumer, len(rows))
        return _entries(rows)

    def done(self, entry_ids: Sequence[str]) -> None:
        """The messages are decided and committed: acknowledge and remove them."""
        if not entry_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(self.stream, GROUP, *entry_ids)
        pipe.xdel(self.stream, *entry_ids)
        pipe.execute()

    def backlog(self) -> tuple[int, float | None]:
        """Undecided messages in the stream, and the age in seconds of the oldest one."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xlen(self.stream)
        pipe.xrange(self.stream, count=1)
        pipe.time()  # entry ids are Redis' own milliseconds: compared with Redis' clock
        depth, first, (seconds, micros) = pipe.execute()
        if not first:
            return int(depth), None
        millis = int(_text(first[0][0]).split("-")[0])
        return int(depth), max(0.0, seconds + micros / 1e6 - millis / 1000)


def _entries(rows: Sequence[Any]) -> list[Entry]:
    entries = []
    for row in rows:
        if row is None:  # deleted while pending (XAUTOCLAIM reports it so)
            continue
        entry_id, fields = row
        decoded = {_text(k): _text(v) for k, v in fields.items()}
        entries.append(Entry(_text(entry_id), RawSms.from_fields(decoded)))
    return entries


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
