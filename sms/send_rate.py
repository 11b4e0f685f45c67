"""The send rate per sender, shared by every worker process through Redis.

A provider takes so many messages a second from one sender (Twilio: about 1 for a long code,
100 for a short code; `SMS_MAX_PER_SECOND`), and answers HTTP 429 (error 20429) to a burst
beyond it. Each send first takes a turn here: a counter per sender and per second of Redis's
own clock (one Lua script, so two workers can never both take the last turn). A 429 makes the
sender pause for every worker at once (`back_off`), instead of each one hammering on.

No Redis (the embedded default: jobs inline, one process) means no limiter.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import Redis

PREFIX = "intake:sms-rate:"

# Milliseconds to wait before trying again (0: the turn is taken). KEYS: the sender's
# counter prefix and its pause key. ARGV: turns a second.
_TAKE_TURN = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused_until > now_ms then
  return paused_until - now_ms
end
local counter = KEYS[1] .. t[1]
local taken = redis.call('INCR', counter)
if taken == 1 then
  redis.call('PEXPIRE', counter, 2000)
end
if taken <= tonumber(ARGV[1]) then
  return 0
end
return 1000 - (now_ms % 1000)
"""

# Pause the sender for ARGV[1] ms from now, unless it is paused for longer already; the
# milliseconds the pause lasts. KEYS: the pause key.
_BACK_OFF = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wanted = now_ms + tonumber(ARGV[1])
local paused_until = tonumber(redis.call('GET', KEYS[1]) or '0')
if wanted > paused_until then
  redis.call('SET', KEYS[1], wanted, 'PX', tonumber(ARGV[1]) + 1000)
  return tonumber(ARGV[1])
end
return paused_until - now_ms
"""


class SendRate:
    """Turns to send from one sender, at most `per_second`, for all processes together."""

    def __init__(
        self,
        connection: Redis,
        sender: str,
        per_second: int,
        sleep: Callable[[float], None] = time.sleep,
        prefix: str = PREFIX,
    ) -> None:
        self._per_second = max(1, per_second)
        self._counter = f"{prefix}{sender}:"
        self._pause = f"{prefix}{sender}:paused"
        self._take = connection.register_script(_TAKE_TURN)
        self._back_off = connection.register_script(_BACK_OFF)
        self._sleep = sleep

    def wait_turn(self) -> None:
        """Return once this process may send one message (sleeping while the sender is full
        this second or paused)."""
        while wait_ms := int(
            self._take(keys=[self._counter, self._pause], args=[self._per_second])
        ):
            self._sleep(wait_ms / 1000)

    def back_off(self, seconds: float) -> float:
        """The provider said "too many": every worker pauses this sender; the seconds left."""
        left_ms = self._back_off(keys=[self._pause], args=[max(1, int(seconds * 1000))])
        return int(left_ms) / 1000
