"""The retry policy of LLM providers: backoff on rate limits, overloads and connection errors.

The official SDKs are created with ``max_retries=0`` so that this module owns retrying: it honours
the provider's ``Retry-After``, bounds the attempts, and records every retry (it is added to the
response's ``retries`` and to the tracing span) instead of hiding it inside the SDK.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import LLMError

logger = logging.getLogger("polos.llm")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How a provider retries retryable failures.

    Attributes:
        max_attempts: total attempts, the first included (1 disables retrying).
        initial_delay: seconds before the first retry when the provider gives no ``Retry-After``.
        max_delay: the cap on any single wait, ``Retry-After`` included.
        multiplier: the backoff factor between consecutive retries.
        jitter: the fraction of each computed delay added at random (0 for none).
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1.")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays cannot be negative.")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_delay)
        base = self.initial_delay * self.multiplier ** (attempt - 1)
        return min(base * (1 + random.uniform(0, self.jitter)), self.max_delay)


DEFAULT_RETRY_POLICY = RetryPolicy()


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    provider: str,
    on_retry: Callable[[dict[str, Any]], None] | None = None,
) -> T:
    """Run ``call`` until it succeeds, retrying retryable :class:`LLMError` s under ``policy``.

    Non-retryable errors are raised at once.  When the attempts run out, the last error is raised
    with ``attempts`` in its details.
    """
    attempt = 1
    while True:
        try:
            return await call()
        except LLMError as error:
            if not error.retryable or attempt >= policy.max_attempts:
                error.details["attempts"] = attempt
                raise
            wait = policy.delay(attempt, getattr(error, "retry_after", None))
            record = {
                "attempt": attempt,
                "error": error.code,
                "status_code": error.status_code,
                "message": error.message,
                "wait_seconds": round(wait, 3),
            }
            logger.warning(
                "%s call failed (%s, attempt %d of %d); retrying in %.2fs",
                provider,
                error.code,
                attempt,
                policy.max_attempts,
                wait,
            )
            if on_retry is not None:
                on_retry(record)
            await asyncio.sleep(wait)
            attempt += 1
