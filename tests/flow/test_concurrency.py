"""Concurrency limits per (queue, concurrency key) lane, across several worker processes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from polos_django import client
from polos_django.testing import WorkerProcess
from tests.conftest import ROOT, wait_until
from tests.flow.workflows import LANE_QUEUE

pytestmark = pytest.mark.django_db(transaction=True)


def _lane_counts() -> dict[Any, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT concurrency_key, COUNT(*) FROM polos_execution WHERE queue_name = %s AND status = 'running' "
            "GROUP BY concurrency_key",
            [LANE_QUEUE],
        )
        return dict(cursor.fetchall())


def _finished(ids: list[str]) -> int:
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(f"SELECT COUNT(*) FROM polos_execution WHERE id IN ({marks}) AND status = 'completed'", ids)
        return int(cursor.fetchone()[0])


@pytest.fixture
def prefork_workers(_clean_broker: None) -> Any:
    workers = [
        WorkerProcess(
            "tests.celery_app",
            f"lane{i}",
            queues=f"{settings.CELERY_TASK_DEFAULT_QUEUE},{LANE_QUEUE}",
            cwd=ROOT,
            pool="prefork",
            concurrency=3,
        )
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    yield workers
    for worker in workers:
        worker.stop()


def test_limit_holds_across_two_worker_processes(prefork_workers: list[WorkerProcess]) -> None:
    """2 worker processes with 3 slots each, limit 3 per lane: never more than 3 running in a lane."""
    keys = [None, "tenant-a"]
    peaks: dict[Any, int] = {}
    samples = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal samples
        from django.db import connection as thread_connection

        try:
            while not stop.is_set():
                for key, count in _lane_counts().items():
                    peaks[key] = max(peaks.get(key, 0), count)
                samples += 1
                time.sleep(0.005)
        finally:
            thread_connection.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        ids = [
            client.invoke("flow_lane_job", {"n": i, "seconds": 0.05}, concurrency_key=keys[i % 2]).id
            for i in range(200)
        ]
        wait_until(lambda: _finished(ids) == len(ids), timeout=240, interval=0.2, message="200 executions")
    finally:
        stop.set()
        sampler.join()
    assert samples > 20
    assert peaks and max(peaks.values()) <= 3, peaks
    # Both lanes really ran concurrently (the limit is per lane, not per queue).
    assert max(peaks.values()) >= 2, peaks
