"""Raw Celery baseline tasks (registered in the benchmark worker next to ``polos.run_execution``)."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

COUNTER_KEY = "bench:counter"
FIRST_KEY = "bench:first"
LAST_KEY = "bench:last"
_redis: Any = None


@shared_task(name="bench.noop", ignore_result=False)
def noop(*args: Any) -> None:
    """Does nothing; its result is stored (chain baseline waits on the last one)."""
    return None


@shared_task(name="bench.count", ignore_result=True)
def count() -> None:
    """Does nothing but ``INCR bench:counter`` in the broker's Redis (throughput baseline)."""
    global _redis
    if _redis is None:
        import redis
        from django.conf import settings

        _redis = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    now = repr(time.time())
    pipe = _redis.pipeline(transaction=False)
    pipe.incr(COUNTER_KEY)
    pipe.set(FIRST_KEY, now, nx=True)  # when the first task ran (pre-enqueued phase)
    pipe.set(LAST_KEY, now)
    pipe.execute()
