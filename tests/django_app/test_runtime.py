"""The runtime against a real database and real Celery worker processes."""

from __future__ import annotations

import datetime as dt

import pytest

from polos.exceptions import (
    ExecutionFailedError,
    NotResumableError,
    PayloadValidationError,
    WorkflowNotFoundError,
    WorkflowTimeoutError,
)
from polos_django import client
from polos_django.models import Event, Execution, Step, Wait
from polos_django.store import get_store
from tests.conftest import wait_until
from tests.sampleapp.models import Invocation


def status(execution_id: str) -> str:
    return Execution.objects.get(id=execution_id).status


def test_steps_run_in_a_worker_and_are_memoized(worker):
    handle = client.invoke("dj_steps", {"steps": 10})
    assert client.wait_for_result(handle.id, timeout=30) == {"values": [f"s{i}" for i in range(10)], "n": 10}
    assert Step.objects.filter(execution_id=handle.id).count() == 10
    assert Invocation.objects.filter(execution_id=handle.id).count() == 10
    types = list(Event.objects.filter(topic=f"workflow/dj_steps/{handle.id}").values_list("event_type", flat=True))
    assert types[0] == "workflow_start" and types[-1] == "workflow_finish" and types.count("step_finish") == 10
    ids = list(Event.objects.filter(topic=f"workflow/dj_steps/{handle.id}").values_list("id", flat=True))
    assert ids == sorted(ids)


def test_replay_across_suspend_resume_and_worker_restart(own_worker):
    worker = own_worker
    handle = client.invoke("dj_approval", {})
    wait_until(lambda: status(handle.id) == "waiting", message="suspend")
    suspend = Event.objects.get(topic=handle.topic, event_type="suspend_approve")
    assert "_approval_url" in suspend.data and "/polos/approve/" in suspend.data
    worker.restart()  # SIGKILL, then a fresh process: nothing in memory survives
    client.resume(handle.root_workflow_id, handle.id, "approve", {"approved": True})
    assert client.wait_for_result(handle.id, timeout=30) == {"approved": True}
    counts = {k: Invocation.objects.filter(execution_id=handle.id, key=k).count() for k in ("before", "after")}
    assert counts == {"before": 1, "after": 1}


def test_waiting_holds_no_worker(worker):
    """While one execution waits for a human, the single worker serves others."""
    waiting = client.invoke("dj_approval", {})
    wait_until(lambda: status(waiting.id) == "waiting")
    other = client.invoke("dj_steps", {"steps": 3})
    assert client.wait_for_result(other.id, timeout=30)["n"] == 3
    row = Execution.objects.get(id=waiting.id)
    assert row.lease_owner is None and row.lease_expires_at is None


def test_durable_timer_survives_restart_and_fires(own_worker):
    worker = own_worker
    handle = client.invoke("dj_timer", {})
    wait_until(lambda: status(handle.id) == "waiting", message="timer wait")
    wait = Wait.objects.get(execution_id=handle.id)
    assert wait.kind == "timer"
    assert wait.due_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)
    worker.kill()
    # A day passes: the test moves the due time into the past instead of waiting.
    Wait.objects.filter(pk=wait.pk).update(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    worker.start()
    assert client.wait_for_result(handle.id, timeout=30) == "woke"
    assert Invocation.objects.filter(execution_id=handle.id, key="before").count() == 1


def test_children_and_batch_fan_in(worker):
    handle = client.invoke("dj_parent", {})
    result = client.wait_for_result(handle.id, timeout=60)
    assert result["one"] == {"i": 1, "double": 2}
    assert [r[0] for r in result["many"]] == [True, True, False, True]
    assert [r[1]["i"] if r[1] else None for r in result["many"]] == [0, 1, None, 3]
    assert "failed on purpose" in result["many"][2][2]
    children = Execution.objects.filter(root_execution_id=handle.id).exclude(id=handle.id)
    assert children.count() == 5 and set(children.values_list("status", flat=True)) == {"completed", "failed"}


def test_wait_for_event_and_its_timeout(worker):
    waiting = client.invoke("dj_event_waiter", {"topic": "orders/42"})
    wait_until(lambda: Wait.objects.filter(execution_id=waiting.id).exists())
    client.publish("orders/42", {"event_type": "paid", "data": {"amount": 5}})
    assert client.wait_for_result(waiting.id, timeout=30) == {"type": "paid", "data": {"amount": 5}}

    expiring = client.invoke("dj_event_waiter", {"topic": "never", "timeout": 1})
    with pytest.raises(ExecutionFailedError, match="timed out"):
        client.wait_for_result(expiring.id, timeout=30)


def test_suspend_timeout_is_enforced(worker):
    handle = client.invoke("dj_approval", {"timeout": 1})
    with pytest.raises(ExecutionFailedError, match="suspend step 'approve' timed out"):
        client.wait_for_result(handle.id, timeout=30)


def test_state_is_durable_across_resume(worker):
    handle = client.invoke("dj_stateful", {}, initial_state={"count": 10})
    wait_until(lambda: status(handle.id) == "waiting")
    assert client.get_execution(handle.id)["state"] == {"count": 11}
    client.resume(handle.root_workflow_id, handle.id, "wait", {})
    assert client.wait_for_result(handle.id, timeout=30) == 12


def test_cancel_waiting_execution_and_finished_one(worker):
    handle = client.invoke("dj_approval", {})
    wait_until(lambda: status(handle.id) == "waiting")
    assert client.cancel(handle.id) is True
    assert status(handle.id) == "cancelled"
    assert not Wait.objects.filter(execution_id=handle.id).exists()
    assert Event.objects.filter(topic=handle.topic, event_type="workflow_cancel").exists()
    assert client.cancel(handle.id) is False


def test_cancel_running_execution_stops_at_next_step(worker):
    handle = client.invoke("dj_sleeper", {"steps": 100, "sleep": 0.05})
    wait_until(lambda: Invocation.objects.filter(execution_id=handle.id).count() >= 3)
    assert client.cancel(handle.id) is True
    wait_until(lambda: status(handle.id) == "cancelled", timeout=30, message="cancel at a step boundary")
    assert Invocation.objects.filter(execution_id=handle.id).count() < 100


def test_caller_timeout_does_not_cancel(worker):
    handle = client.invoke("dj_approval", {})
    wait_until(lambda: status(handle.id) == "waiting")
    with pytest.raises(WorkflowTimeoutError):
        client.wait_for_result(handle.id, timeout=0.5)
    assert status(handle.id) == "waiting"


@pytest.mark.django_db(transaction=True)
def test_bad_input_changes_nothing():
    with pytest.raises(WorkflowNotFoundError, match="no workflow with id 'nope'"):
        client.invoke("nope", {})
    with pytest.raises(PayloadValidationError, match="field 'steps'"):
        client.invoke("dj_steps", {"steps": "many"})
    assert Execution.objects.count() == 0
    done = client.invoke("dj_steps", {"steps": 1}, queue_name="idle-lane")  # stays queued: no worker there
    with pytest.raises(NotResumableError, match="queued"):
        client.resume("dj_steps", done.id, "approve", {})
    assert Event.objects.filter(event_type__startswith="resume_").count() == 0
    Execution.objects.filter(id=done.id).update(status="completed")
    assert client.cancel(done.id) is False
    assert status(done.id) == "completed"


@pytest.mark.django_db(transaction=True)
def test_reaper_requeues_expired_lease_and_dead_owner():
    handle = client.invoke("dj_steps", {"steps": 1}, queue_name="idle-lane")  # no worker consumes this queue
    store = get_store()
    claim = store.claim(handle.id, "elsewhere:1", lease_seconds=0.01)
    assert claim is not None
    report = store.reap(now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert report.expired_leases == 1 and status(handle.id) == "queued"
    claim = store.claim(handle.id, "myself", lease_seconds=60)
    import socket

    Execution.objects.filter(id=handle.id).update(lease_owner=f"{socket.gethostname()}:999999")
    assert store.reap().expired_leases == 1 and status(handle.id) == "queued"


@pytest.mark.django_db(transaction=True)
def test_a_failing_reaper_part_does_not_stop_the_others(monkeypatch, caplog):
    from polos_django.store import triggers

    def broken(now):
        raise RuntimeError("a trigger row it cannot handle")

    monkeypatch.setattr(triggers, "sweep", broken)
    handle = client.invoke("dj_steps", {"steps": 1}, queue_name="idle-lane")  # no worker consumes this queue
    store = get_store()
    assert store.claim(handle.id, "elsewhere:1", lease_seconds=0.01) is not None
    with caplog.at_level("ERROR", logger="polos.store"):
        report = store.reap(now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert report.expired_leases == 1 and status(handle.id) == "queued"
    assert report.triggered == 0 and "the triggered part failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_reaper_rerings_lost_doorbells_only_when_the_queue_is_empty():
    import redis
    from django.conf import settings

    from polos_django.status import broker_backlog
    from tests.conftest import broker_lists

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*broker_lists("idle-lane"))
    handle = client.invoke("dj_steps", {"steps": 1}, queue_name="idle-lane")  # no worker consumes this queue
    assert broker_backlog(["idle-lane"]) == {"idle-lane": 1}
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    Execution.objects.filter(id=handle.id).update(rung_at=long_ago)
    assert get_store().reap().rerung == 0  # its message is still waiting: a backlog, not a loss
    broker.delete(*broker_lists("idle-lane"))  # the message is lost
    assert get_store().reap().rerung == 1
    assert broker_backlog(["idle-lane"]) == {"idle-lane": 1}
    assert Execution.objects.get(id=handle.id).rung_at > long_ago
    broker.delete(*broker_lists("idle-lane"))


@pytest.mark.django_db(transaction=True)
def test_reaper_repairs_an_event_wait_whose_event_was_committed_without_waking_it():
    handle = client.invoke("dj_event_waiter", {"topic": "t-repair"}, queue_name="idle-lane")
    Execution.objects.filter(id=handle.id).update(status="waiting")
    Wait.objects.create(execution_id=handle.id, kind="event", step_key="ev", topic="t-repair", after_sequence=0)
    Event.objects.create(topic="t-repair", event_type="step_finish", data="{}")  # trace events never count
    event = Event.objects.create(topic="t-repair", event_type="paid", data='{"amount": 3}')
    assert get_store().reap(repair=True).fanins_repaired == 1
    assert status(handle.id) == "queued"
    step = Step.objects.get(execution_id=handle.id, key="ev")
    assert f'"sequence_id": {event.id}' in step.output and '"amount": 3' in step.output
