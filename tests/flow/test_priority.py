"""Priorities without a concurrency limit: Celery message priorities on the Redis broker."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.conf import settings

from polos_django import client, doorbell
from polos_django.models import Execution
from polos_django.status import broker_backlog
from polos_django.testing import WorkerProcess
from tests.conftest import ROOT, broker_lists, wait_until
from tests.flow.workflows import SESSION

pytestmark = pytest.mark.django_db(transaction=True)

PRIORITY_QUEUE = f"{SESSION}-priority"


@pytest.mark.once
def test_polos_priorities_map_to_the_redis_priority_steps(monkeypatch: Any) -> None:
    assert [doorbell.message_priority(p) for p in (1_000_000, 1, 0, -1, -1_000_000)] == [0, 0, 3, 6, 6]
    app = doorbell.get_celery_app()
    monkeypatch.setattr(doorbell, "_steps", {})
    monkeypatch.setitem(app.conf, "broker_transport_options", {"priority_steps": list(range(10))})
    assert [doorbell.message_priority(p) for p in (5, 0, -5)] == [0, 1, 2]
    monkeypatch.setattr(doorbell, "_steps", {id(app): None})  # a broker without priorities
    assert doorbell.message_priority(5) is None


def test_without_a_limit_higher_priority_runs_first() -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*broker_lists(PRIORITY_QUEUE))
    # Invoked while no worker consumes the queue: every doorbell waits in the broker.
    priorities = [-5, 0, 7] * 4
    ids = {
        client.invoke("flow_sleeper", {"seconds": 0}, queue_name=PRIORITY_QUEUE, priority=p).id: p for p in priorities
    }
    assert broker_backlog([PRIORITY_QUEUE]) == {PRIORITY_QUEUE: 12}
    worker = WorkerProcess("tests.celery_app", "priority", queues=PRIORITY_QUEUE, cwd=ROOT, concurrency=1).start()
    try:
        wait_until(
            lambda: Execution.objects.filter(id__in=ids, status="completed").count() == 12,
            timeout=90,
            message="the twelve executions",
        )
    finally:
        worker.stop()
    started = Execution.objects.filter(id__in=ids).order_by("started_at").values_list("id", flat=True)
    # Higher first, FIFO within a priority (the ids of one priority were created in this order).
    assert [ids[i] for i in started] == [7] * 4 + [0] * 4 + [-5] * 4
    by_priority = [[i for i in started if ids[i] == p] for p in (7, 0, -5)]
    assert by_priority == [[i for i in ids if ids[i] == p] for p in (7, 0, -5)]
