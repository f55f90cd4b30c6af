"""Global rate limits: token buckets shared by every worker (Redis), and the in-memory ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from polos import ratelimit
from polos.exceptions import ConfigurationError, RateLimitTimeoutError
from polos_django import client
from polos_django.models import Execution
from tests.flow.workflows import BUCKET, RATED_QUEUE

RATE, BURST = 10.0, 2.0


def _within_bucket(stamps: list[float], rate: float, burst: float, slack: float = 0.5) -> None:
    """Any n consecutive grants span at least (n - burst) / rate seconds."""
    stamps = sorted(stamps)
    for i in range(len(stamps)):
        for j in range(i + 1, len(stamps)):
            granted = j - i + 1
            assert granted <= burst + rate * (stamps[j] - stamps[i]) + slack, (i, j, stamps[j] - stamps[i])


@pytest.mark.django_db(transaction=True)
def test_two_workers_together_never_exceed_the_rate(start_workers: Callable[..., list[Any]]) -> None:
    from redis import Redis

    Redis.from_url(settings.CELERY_BROKER_URL).delete(f"polos:ratelimit:{BUCKET}")
    start_workers(2, queues=f"{settings.CELERY_TASK_DEFAULT_QUEUE},{RATED_QUEUE}")
    ids = [client.invoke("flow_rated_call").id for _ in range(30)]
    stamps = [client.wait_for_result(i, timeout=120) for i in ids]
    owners = set(Execution.objects.filter(pk__in=ids).values_list("lease_owner", flat=True))
    assert stamps[-1] - min(stamps) >= (30 - BURST) / RATE * 0.9  # the bucket really throttled
    _within_bucket(stamps, RATE, BURST)
    assert owners == {None}  # finished

    # A queue's rate limit counts started executions (bucket "queue:<name>": 5/s, burst 1).
    ids = [client.invoke("flow_rated_queue").id for _ in range(10)]
    starts = [client.wait_for_result(i, timeout=120) for i in ids]  # each records when its body started
    assert max(starts) - min(starts) >= 9 / 5 * 0.9
    _within_bucket(starts, 5.0, 1.0)


@pytest.mark.once
def test_memory_buckets_and_errors() -> None:
    previous = ratelimit.get_limiter()
    try:
        ratelimit.configure({"tokens": {"rate": 100, "per": 1, "burst": 100}, "slow": {"rate": 1, "per": 60}})

        async def scenario() -> None:
            await ratelimit.acquire("unlimited-name", 10**6)  # no limit configured: free
            await ratelimit.acquire("tokens", 100)
            # A request larger than the bucket passes when it is full and leaves it in debt.
            started = time.monotonic()
            await ratelimit.acquire("tokens", 150, timeout=5)
            assert time.monotonic() - started > 0.5
            await ratelimit.acquire("slow")
            with pytest.raises(RateLimitTimeoutError, match=r"'slow'.*within 0\.1 s"):
                await ratelimit.acquire("slow", timeout=0.1)

        asyncio.run(scenario())
        with pytest.raises(RateLimitTimeoutError):
            ratelimit.acquire_sync("slow", timeout=0.05)
        with pytest.raises(ConfigurationError, match="rate must be a positive number"):
            ratelimit.configure({"bad": {"rate": -1}})
        with pytest.raises(ConfigurationError, match="expected a dict with 'rate'"):
            ratelimit.configure({"bad": {"per": 1}})
        with pytest.raises(ConfigurationError, match="amount must be a positive number"):
            ratelimit.acquire_sync("tokens", 0)
        assert RateLimitTimeoutError("x").code == "rate_limited"
    finally:
        ratelimit.bind(previous)
