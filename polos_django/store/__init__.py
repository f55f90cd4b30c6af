"""The Django implementation of :class:`polos.store.ExecutionStore`."""

from __future__ import annotations

from polos import ratelimit

from ..ratelimit import RedisRateLimiter
from .store import DjangoStore, get_store

# Every process that uses the store (web, worker, scripts) shares the Redis token buckets.
ratelimit.bind(RedisRateLimiter(), default=True)

__all__ = ["DjangoStore", "get_store"]
