"""Admission in a limited lane: priorities, FIFO, waiting executions do not count, keys are separate lanes."""

from __future__ import annotations

import datetime as dt

import pytest

from polos.exceptions import PayloadValidationError, WorkflowDefinitionError
from polos.store import WAIT_TIMER, WaitSpec, utcnow
from polos_django import client
from polos_django.models import Execution
from polos_django.store import get_store
from tests.flow.workflows import SESSION

pytestmark = pytest.mark.django_db(transaction=True)

PARKED = f"{SESSION}-parked-lane"  # no worker consumes it: the test claims by hand


def _invoke(priority: int = 0, key: str | None = None) -> str:
    return client.invoke(
        "flow_lane_job", {}, queue_name=PARKED, queue_concurrency_limit=1, concurrency_key=key, priority=priority
    ).id


def test_priority_then_fifo_and_waiting_does_not_count() -> None:
    store = get_store()
    a, b = _invoke(), _invoke()
    c = _invoke(priority=5)
    assert Execution.objects.get(pk=c).concurrency_limit == 1
    assert store.claim(b, "test:1", 30) is None  # c (higher priority) and a (older) come first
    assert store.claim(a, "test:1", 30) is None  # c has the higher priority
    claim_c = store.claim(c, "test:1", 30)
    assert claim_c is not None
    assert store.claim(a, "test:1", 30) is None  # the lane is full
    # Another concurrency key is another lane with the same limit.
    other = _invoke(key="tenant-b")
    assert store.claim(other, "test:1", 30) is not None
    # A waiting execution does not hold its slot.
    store.wait(claim_c, WaitSpec(WAIT_TIMER, "nap", due_at=utcnow() + dt.timedelta(hours=1)), 0.0)
    assert store.claim(b, "test:1", 30) is None  # a is older
    claim_a = store.claim(a, "test:1", 30)
    assert claim_a is not None
    store.finish(claim_a, "completed", result="null")
    assert store.claim(b, "test:1", 30) is not None
    # Everything finished or waiting: the lane's next ones were rung on release.
    assert Execution.objects.get(pk=b).status == "running"


def test_bad_flow_options_are_refused() -> None:
    with pytest.raises(PayloadValidationError, match="concurrency_limit must be at least 1"):
        client.invoke("flow_lane_job", {}, queue_name="q", queue_concurrency_limit=-2)
    with pytest.raises(PayloadValidationError, match="priority must be a whole number"):
        client.invoke("flow_lane_job", {}, priority=1.5)  # type: ignore[arg-type]
    from polos import queue, workflow

    with pytest.raises(WorkflowDefinitionError, match="concurrency_limit must be at least 1"):
        queue("q", concurrency_limit=0)
    with pytest.raises(WorkflowDefinitionError, match="batch_size must be a whole number >= 1"):
        workflow(id="flow_bad_batch", trigger_on_event="t", batch_size=0)(lambda ctx: None)
    with pytest.raises(WorkflowDefinitionError, match="either event-triggered or scheduled"):
        workflow(id="flow_bad_both", trigger_on_event="t", schedule="0 * * * *")(lambda ctx: None)
    with pytest.raises(WorkflowDefinitionError, match="day of week value 9 is outside 0-7"):
        workflow(id="flow_bad_cron", schedule="0 0 * * 9")(lambda ctx: None)
    with pytest.raises(WorkflowDefinitionError, match="unknown timezone"):
        workflow(id="flow_bad_tz", schedule={"cron": "0 0 * * *", "timezone": "Moon/Base"})(lambda ctx: None)
    with pytest.raises(WorkflowDefinitionError, match="not a user topic"):
        workflow(id="flow_bad_topic", trigger_on_event="workflow/x/y")(lambda ctx: None)


def test_every_free_slot_is_admitted_and_rung() -> None:
    """Not only the lane's head: each of its first ``limit`` queued executions may be claimed."""
    store = get_store()
    ids = [
        client.invoke("flow_lane_job", {}, queue_name=PARKED, queue_concurrency_limit=3, concurrency_key="slots").id
        for _ in range(5)
    ]
    rung = Execution.objects.filter(pk__in=ids, rung_at__isnull=False)
    assert set(rung.values_list("pk", flat=True)) == set(ids[:3])  # one doorbell per free slot
    assert store.claim(ids[3], "test:1", 30) is None  # fourth in line: no slot for it
    assert store.claim(ids[2], "test:1", 30) is not None  # third in line, ahead of the head
    assert store.claim(ids[1], "test:1", 30) is not None
    assert store.claim(ids[3], "test:1", 30) is None
    assert store.claim(ids[0], "test:1", 30) is not None
    assert store.claim(ids[4], "test:1", 30) is None  # the lane is full
