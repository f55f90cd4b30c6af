"""The Redis token buckets behind :mod:`polos.ratelimit`, shared by every worker process.

One Lua script takes tokens atomically and reads the clock of the Redis server, so buckets behave
the same however many processes and machines share them (Celery's own ``rate_limit`` is per worker).
Limits come from ``POLOS["RATE_LIMITS"]``.  When Redis cannot be reached, requests go through (and a
warning is logged): a rate limit protects a quota, it must not stop the runtime.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from polos.ratelimit import RateLimit

from . import live
from .conf import polos_settings

logger = logging.getLogger("polos.ratelimit")

KEY_PREFIX = "polos:ratelimit:"

# KEYS[1]: the bucket; ARGV: tokens per second, capacity, amount.  Returns the seconds to wait
# ("0" when the tokens were taken) as a string: Lua numbers would be truncated to integers.
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local need = math.min(amount, capacity)
local wait = 0
if tokens >= need then
  tokens = tokens - amount
else
  wait = (need - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """Token buckets in Redis (see module docstring)."""

    def __init__(self) -> None:
        self._script: Any = None
        self._client: Any = None
        self._limits_source: Any = None
        self._limits: dict[str, RateLimit] = {}
        self._warned_at = 0.0

    def limit(self, name: str) -> RateLimit | None:
        source = polos_settings.RATE_LIMITS or {}
        if source is not self._limits_source:
            self._limits = {key: RateLimit.parse(key, value) for key, value in source.items()}
            self._limits_source = source
        return self._limits.get(name)

    def try_acquire(self, name: str, limit: RateLimit, amount: float) -> float:
        client = live.redis_client()
        if client is None:
            self._warn(name, "no Redis is configured (POLOS['REDIS_URL'])")
            return 0.0
        if client is not self._client:
            self._client = client
            self._script = client.register_script(TAKE_SCRIPT)
        try:
            wait = self._script(keys=[KEY_PREFIX + name], args=[limit.per_second, limit.capacity, amount])
        except Exception as exc:
            self._warn(name, f"Redis failed: {exc}")
            return 0.0
        return float(wait.decode() if isinstance(wait, bytes) else wait)

    def _warn(self, name: str, why: str) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60:
            self._warned_at = now
            logger.warning("rate limit %r not enforced: %s", name, why)
