"""Cancellation: queued and waiting executions at once, running ones at the next step boundary or by
a hard kill (Celery revoke with SIGKILL) after the grace period."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from polos_django import client
from polos_django.models import Execution, Step
from polos_django.testing import WorkerProcess
from tests.conftest import ROOT, wait_until
from tests.flow.workflows import SESSION

pytestmark = pytest.mark.django_db(transaction=True)

KILL_QUEUE = f"{SESSION}-kill"


def _status(execution_id: str) -> str:
    return Execution.objects.values_list("status", flat=True).get(pk=execution_id)


def test_cancel_queued_execution_at_once() -> None:
    handle = client.invoke("flow_lane_job", {"n": 1}, queue_name=f"{SESSION}-parked")
    assert client.cancel(handle.id) is True
    assert _status(handle.id) == "cancelled"
    assert client.cancel(handle.id) is False


@pytest.mark.xfail(
    reason="known intermittent bug (issue 4, open): the hard kill is sometimes not observed within 60 s "
    "(1 failure in 3 local runs and 1 in 3 CI runs on 2026-11-25); not yet diagnosed",
    strict=False,
)
def test_running_step_that_ignores_cancel_is_killed_after_the_grace_period(_clean_broker: None) -> None:
    worker = WorkerProcess(
        "tests.celery_app", "killable", queues=KILL_QUEUE, cwd=ROOT, pool="prefork", concurrency=1
    ).start()
    try:
        handle = client.invoke("flow_sleeper", {"seconds": 300}, queue_name=KILL_QUEUE)
        wait_until(lambda: Step.objects.filter(execution_id=handle.id, key="first").exists(), timeout=60)
        wait_until(lambda: Execution.objects.get(pk=handle.id).celery_task_id, timeout=10)
        started = time.monotonic()
        assert client.cancel(handle.id) is True
        row = Execution.objects.get(pk=handle.id)
        assert row.status == "running" and row.cancel_requested
        wait_until(lambda: _status(handle.id) == "cancelled", timeout=60, message="the hard kill")
        elapsed = time.monotonic() - started
        assert elapsed >= float(settings.POLOS["CANCEL_GRACE_SECONDS"]) * 0.9
        assert not Step.objects.filter(execution_id=handle.id, key="sleep").exists()
        # The worker node survives (only its pool process was killed) and runs the next execution.
        assert worker.running
        follow = client.invoke("flow_sleeper", {"seconds": 0}, queue_name=KILL_QUEUE)
        assert client.wait_for_result(follow.id, timeout=60) == "slept"
    finally:
        worker.stop()
