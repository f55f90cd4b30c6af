"""Cancellation: queued and waiting executions at once, running ones at the next step boundary or by
a hard kill (Celery revoke with SIGKILL) after the grace period."""

from __future__ import annotations

import datetime as dt
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from polos.exceptions import WorkflowCancelled
from polos.store import WAIT_SUSPEND, WaitSpec
from polos_django import client
from polos_django.models import Execution, Step
from polos_django.store import cancels, get_store
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


def test_running_step_that_ignores_cancel_is_killed_after_the_grace_period(_clean_broker: None) -> None:
    worker = WorkerProcess(
        "tests.celery_app",
        "killable",
        queues=KILL_QUEUE,
        cwd=ROOT,
        pool="prefork",
        concurrency=1,
        loglevel="info",
    ).start()
    try:
        handle = client.invoke("flow_sleeper", {"seconds": 300}, queue_name=KILL_QUEUE)
        wait_until(lambda: Step.objects.filter(execution_id=handle.id, key="first").exists(), timeout=60)
        wait_until(lambda: Execution.objects.get(pk=handle.id).celery_task_id, timeout=10)
        started = time.monotonic()
        assert client.cancel(handle.id) is True
        row = Execution.objects.get(pk=handle.id)
        assert row.status == "running" and row.cancel_requested
        try:
            wait_until(lambda: _status(handle.id) == "cancelled", timeout=60, message="the hard kill")
        except pytest.fail.Exception as exc:  # wait_until fails the test with pytest.fail
            row = Execution.objects.get(pk=handle.id)
            raise AssertionError(
                f"{exc}\nexecution: status={row.status} owner={row.lease_owner} task={row.celery_task_id} "
                f"cancel_requested_at={row.cancel_requested_at}\nworker log:\n{worker.log_tail(8000)}"
            ) from None
        elapsed = time.monotonic() - started
        assert elapsed >= float(settings.POLOS["CANCEL_GRACE_SECONDS"]) * 0.9
        assert not Step.objects.filter(execution_id=handle.id, key="sleep").exists()
        # The worker node survives (only its pool process was killed) and runs the next execution.
        assert worker.running
        follow = client.invoke("flow_sleeper", {"seconds": 0}, queue_name=KILL_QUEUE)
        assert client.wait_for_result(follow.id, timeout=60) == "slept"
    finally:
        worker.stop()


def test_an_attempt_claimed_after_the_cancel_gets_its_own_grace_period(monkeypatch: Any) -> None:
    # Regression: the attempt that takes a hard-killed execution back stops at its first boundary;
    # killing it on the way there (its cancel was long overdue) requeued it, again and again.
    revoked: list[str] = []
    control = SimpleNamespace(revoke=lambda task_id, **options: revoked.append(task_id))
    monkeypatch.setattr(cancels, "get_celery_app", lambda: SimpleNamespace(control=control))
    grace = dt.timedelta(seconds=float(settings.POLOS["CANCEL_GRACE_SECONDS"]))
    long_ago = dt.datetime.now(dt.UTC) - 10 * grace
    handle = client.invoke("flow_lane_job", {"n": 1}, queue_name=f"{SESSION}-parked")
    rows = Execution.objects.filter(pk=handle.id)

    assert get_store().claim(handle.id, "elsewhere:1", 30) is not None
    rows.update(celery_task_id="first-attempt")
    assert client.cancel(handle.id) is True
    assert cancels.kill_overdue(dt.datetime.now(dt.UTC)) == 0  # within its grace period
    rows.update(cancel_requested_at=long_ago)
    assert cancels.kill_overdue(dt.datetime.now(dt.UTC)) == 1
    assert revoked == ["first-attempt"]

    # Long after the kill, the execution is taken back and a new attempt claims it.
    rows.update(status="queued", lease_owner=None, lease_expires_at=None, cancel_requested_at=long_ago)
    assert get_store().claim(handle.id, "elsewhere:2", 30) is not None
    rows.update(celery_task_id="second-attempt")
    claimed_at = dt.datetime.now(dt.UTC)
    assert cancels.kill_overdue(claimed_at) == 0
    assert revoked == ["first-attempt"]
    assert cancels.kill_overdue(claimed_at + grace * 1.5) == 1  # the new attempt ignored it too
    assert revoked == ["first-attempt", "second-attempt"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serializes the cancel and the suspend")
def test_a_cancel_racing_a_suspend_still_cancels() -> None:
    # The execution is running when the cancel looks at it, and its worker suspends it (waiting for a
    # human) right then.  Either the cancel finishes it, or the suspend finds the cancel and stops:
    # it must never be left waiting with its cancel lost.
    handle = client.invoke("flow_lane_job", {"n": 1}, queue_name=f"{SESSION}-parked")
    claim = get_store().claim(handle.id, "elsewhere:1", 30)
    assert claim is not None
    suspends: list[str] = []

    def suspend() -> None:
        from django.db import connection as other

        try:
            get_store().wait(claim, WaitSpec(WAIT_SUSPEND, "approve"), 0.0)
            suspends.append("waiting")
        except WorkflowCancelled:
            suspends.append("cancelled")
        finally:
            other.close()

    worker = threading.Thread(target=suspend)
    walked: list[bool] = []

    def after_the_first_look(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if "parent_execution_id IN" in sql:  # the cancel gathered the tree; next it looks at the row
            walked.append(True)
        elif walked and not worker.ident:
            worker.start()
            worker.join(1.0)  # done at once, unless the cancel's row lock holds it back
        return result

    with connection.execute_wrapper(after_the_first_look):
        assert client.cancel(handle.id) is True
    worker.join(10)
    row = Execution.objects.get(pk=handle.id)
    assert suspends, "the suspend never ran"
    assert (row.status, suspends) in (("cancelled", ["waiting"]), ("running", ["cancelled"]))
    if row.status == "running":
        assert row.cancel_requested  # its run ends cancelled at the refused suspend
