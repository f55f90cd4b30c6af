"""Global rate limits: named token buckets shared by every worker.

::

    from polos import ratelimit

    await ratelimit.acquire("llm:openai:requests")          # one request
    await ratelimit.acquire("llm:openai:tokens", 1200)       # 1,200 tokens

A bucket named ``name`` holds up to ``burst`` tokens and refills at ``rate`` tokens per ``per``
seconds.  :func:`acquire` waits until the tokens are there (or raises
:class:`~polos.exceptions.RateLimitTimeoutError` after ``timeout`` seconds); names with no configured
limit cost nothing.  A request larger than the whole bucket is let through when the bucket is full
and leaves it in debt, so one large LLM call never blocks forever.

Limits come from ``POLOS["RATE_LIMITS"]`` in a Django project (``{"name": {"rate": N, "per": seconds,
"burst": M}}``, shared through Redis by all processes), or from :func:`configure` (in-process, e.g.
with :class:`polos.testing.LocalRuntime`).  A queue's limit on started executions is the bucket
``queue:<queue name>``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .exceptions import ConfigurationError, RateLimitTimeoutError

__all__ = [
    "MemoryRateLimiter",
    "RateLimit",
    "RateLimiter",
    "acquire",
    "acquire_sync",
    "bind",
    "configure",
    "get_limiter",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate`` tokens per ``per`` seconds, at most ``burst`` at once (default: ``rate``).

    Raises:
        ConfigurationError: a value is not a positive number.
    """

    rate: float
    per: float = 1.0
    burst: float | None = None

    def __post_init__(self) -> None:
        for field_name in ("rate", "per"):
            value = getattr(self, field_name)
            if not _positive(value):
                raise ConfigurationError(f"rate limit: {field_name} must be a positive number, got {value!r}")
        if self.burst is not None and not _positive(self.burst):
            raise ConfigurationError(f"rate limit: burst must be a positive number, got {self.burst!r}")

    @property
    def capacity(self) -> float:
        return float(self.burst if self.burst is not None else self.rate)

    @property
    def per_second(self) -> float:
        return float(self.rate) / float(self.per)

    @classmethod
    def parse(cls, name: str, value: Any) -> RateLimit:
        """Build a limit from its settings form (``{"rate", "per", "burst"}``) or pass one through."""
        if isinstance(value, RateLimit):
            return value
        if not isinstance(value, Mapping) or "rate" not in value or set(value) - {"rate", "per", "burst"}:
            raise ConfigurationError(
                f"rate limit {name!r}: expected a dict with 'rate' and optionally 'per' (seconds) and 'burst', "
                f"got {value!r}"
            )
        try:
            return cls(value["rate"], value.get("per", 1.0), value.get("burst"))
        except ConfigurationError as exc:
            raise ConfigurationError(f"rate limit {name!r}: {exc}") from None


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


class RateLimiter(Protocol):
    """Where the buckets live (in memory, or Redis for all processes)."""

    def limit(self, name: str) -> RateLimit | None:
        """The configured limit of ``name``, or ``None`` (no limit)."""

    def try_acquire(self, name: str, limit: RateLimit, amount: float) -> float:
        """Take ``amount`` tokens if available and return 0, else return the seconds to wait."""


class MemoryRateLimiter:
    """Buckets in this process only (tests, :class:`polos.testing.LocalRuntime`)."""

    def __init__(self, limits: Mapping[str, Any] | None = None) -> None:
        self.limits = {name: RateLimit.parse(name, value) for name, value in (limits or {}).items()}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def limit(self, name: str) -> RateLimit | None:
        return self.limits.get(name)

    def try_acquire(self, name: str, limit: RateLimit, amount: float) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(name, (limit.capacity, now))
            tokens = min(limit.capacity, tokens + (now - stamp) * limit.per_second)
            if tokens >= min(amount, limit.capacity):
                self._buckets[name] = (tokens - amount, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (min(amount, limit.capacity) - tokens) / limit.per_second


_limiter: RateLimiter = MemoryRateLimiter()
_bound = False


def bind(limiter: RateLimiter, *, default: bool = False) -> None:
    """Use ``limiter`` for every bucket of this process.

    ``polos_django`` binds its Redis limiter with ``default=True``: that keeps a limiter bound
    explicitly (by :func:`configure` or a test) in place.
    """
    global _limiter, _bound
    if default and _bound:
        return
    _limiter = limiter
    _bound = not default


def get_limiter() -> RateLimiter:
    return _limiter


def configure(limits: Mapping[str, Any]) -> MemoryRateLimiter:
    """Use in-process buckets with these limits (``{"name": {"rate", "per", "burst"}}``).

    Raises:
        ConfigurationError: a limit is malformed.
    """
    limiter = MemoryRateLimiter(limits)
    bind(limiter)
    return limiter


def _check(name: str, amount: float) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"a rate limit name must be a non-empty string, got {name!r}")
    if not _positive(amount):
        raise ConfigurationError(f"rate limit {name!r}: amount must be a positive number, got {amount!r}")


def _timeout_error(name: str, amount: float, timeout: float) -> RateLimitTimeoutError:
    return RateLimitTimeoutError(
        f"rate limit {name!r}: {amount:g} token(s) not available within {timeout:g} s; "
        "raise the limit, lower the load, or pass a longer timeout"
    )


async def acquire(name: str, amount: float = 1, *, timeout: float | None = None) -> None:
    """Wait until ``amount`` tokens of bucket ``name`` are available and take them.

    A no-op for names with no configured limit.

    Raises:
        RateLimitTimeoutError: the tokens were not available within ``timeout`` seconds.
        ConfigurationError: ``name`` or ``amount`` is invalid.
    """
    _check(name, amount)
    limiter = _limiter
    limit = limiter.limit(name)
    if limit is None:
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = await asyncio.to_thread(limiter.try_acquire, name, limit, amount)
        if wait <= 0:
            return
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining < wait:
                raise _timeout_error(name, amount, float(timeout or 0))
        await asyncio.sleep(wait)


def acquire_sync(name: str, amount: float = 1, *, timeout: float | None = None) -> None:
    """The blocking version of :func:`acquire` (for synchronous code)."""
    _check(name, amount)
    limiter = _limiter
    limit = limiter.limit(name)
    if limit is None:
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = limiter.try_acquire(name, limit, amount)
        if wait <= 0:
            return
        if deadline is not None and deadline - time.monotonic() < wait:
            raise _timeout_error(name, amount, float(timeout or 0))
        time.sleep(wait)
