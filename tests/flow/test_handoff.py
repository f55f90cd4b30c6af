"""Hand-off: the run task that frees a slot of a limited lane runs the lane's next execution itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from polos_django import client, doorbell
from polos_django.conf import polos_settings
from polos_django.models import Execution
from polos_django.store import handoff
from polos_django.store.handoff import HandOff
from polos_django.store.running import running_task
from polos_django.testing import WorkerProcess
from tests.conftest import ROOT
from tests.flow.workflows import SESSION

LANE = ("jobs", None, 1)


@pytest.fixture
def handoff_seconds() -> Iterator[Any]:
    def use(value: Any) -> None:
        stack.append(override_settings(POLOS={**settings.POLOS, "LANE_HANDOFF_SECONDS": value}))
        stack[-1].enable()
        polos_settings.reload()

    stack: list[Any] = []
    yield use
    for entry in reversed(stack):
        entry.disable()
    polos_settings.reload()


def test_a_task_takes_one_execution_of_its_own_celery_queue_while_young(monkeypatch: Any) -> None:
    rung: list[str] = []
    monkeypatch.setattr(doorbell, "ring", lambda execution_id, *args, **options: rung.append(execution_id))
    task = HandOff("jobs", time.monotonic() + 60)
    assert task.offer("a", "jobs", LANE)
    assert not task.offer("b", "jobs", LANE)  # one at a time
    assert task.take() == ("a", LANE) and task.take() is None
    assert not task.offer("c", "other", ("other", None, 1))  # dedicated workers keep their queues

    old = HandOff("jobs", time.monotonic() - 1)
    assert not old.offer("f", "jobs", LANE)  # its budget is spent: its worker takes its next message
    assert task.offer("g", "jobs", LANE)
    task.release()  # offered but never run (the task failed): its doorbell is sent
    assert rung == ["g"] and task.take() is None


def test_the_lanes_first_execution_is_handed_off_and_the_others_rung(monkeypatch: Any) -> None:
    rung: list[str] = []
    monkeypatch.setattr(doorbell, "ring", lambda execution_id, *args, **options: rung.append(execution_id))
    handoff.dispatch(["x", "y"], "jobs", LANE, "x")  # no run task in this thread: every doorbell is sent
    assert rung == ["x", "y"]
    task = HandOff("jobs", time.monotonic() + 60)
    monkeypatch.setattr(running_task, "handoff", task, raising=False)
    # The first queued execution was rung earlier (its doorbell is still on the way): the task takes
    # it, and that doorbell will claim the lane's next rung execution, so the one rung now needs none.
    handoff.dispatch(["y", "w"], "jobs", LANE, "urgent")
    assert task.take() == ("urgent", LANE) and rung == ["x", "y", "y"]
    handoff.dispatch(["z"], "jobs", LANE, "z")
    assert task.take() == ("z", LANE) and rung == ["x", "y", "y"]


def test_hand_offs_can_be_turned_off_and_a_bad_value_is_reported(handoff_seconds: Any) -> None:
    assert HandOff.start("jobs") is not None
    assert HandOff.start(None) is None
    handoff_seconds(0)
    assert HandOff.start("jobs") is None
    handoff_seconds("fast")
    assert HandOff.start("jobs") is None  # runs go on without hand-offs
    with pytest.raises(SystemCheckError, match=r"POLOS\['LANE_HANDOFF_SECONDS'\] must be a number of seconds >= 0"):
        call_command("check")


def _run_lane(queue: str, count: int, **worker_env: str) -> list[Execution]:
    worker = WorkerProcess("tests.celery_app", "handoff", queues=queue, cwd=ROOT, extra_env=worker_env).start()
    try:
        ids = [
            client.invoke("flow_lane_job", {"n": n, "seconds": 0}, queue_name=queue, queue_concurrency_limit=1).id
            for n in range(count)
        ]
        for execution_id in ids:
            assert client.wait_for_result(execution_id, timeout=60) is not None
    finally:
        worker.stop()
    rows = {row.id: row for row in Execution.objects.filter(id__in=ids)}
    return [rows[execution_id] for execution_id in ids]


@pytest.mark.django_db(transaction=True)
def test_a_lane_runs_through_hand_offs_in_order(_clean_broker: None) -> None:
    runs = _run_lane(f"{SESSION}-handoff", 6)
    assert [run.result for run in runs] == [str(n) for n in range(6)]
    started = [run.started_at for run in runs]
    assert started == sorted(started)  # FIFO, one at a time
    # Executions run by one task share its Celery task id: fewer tasks than executions.
    assert len({run.celery_task_id for run in runs}) < len(runs)


@pytest.mark.django_db(transaction=True)
def test_without_hand_offs_every_execution_has_its_own_task(_clean_broker: None) -> None:
    runs = _run_lane(f"{SESSION}-no-handoff", 4, POLOS_LANE_HANDOFF_SECONDS="0")
    assert [run.result for run in runs] == [str(n) for n in range(4)]
    assert len({run.celery_task_id for run in runs}) == len(runs)


@pytest.mark.django_db(transaction=True)
def test_a_doorbell_whose_execution_was_taken_claims_the_lanes_next_rung_execution(monkeypatch: Any) -> None:
    from polos_django.store import get_store

    queue = f"{SESSION}-parked-tokens"  # no worker consumes it: the test claims by hand
    ids = [client.invoke("flow_lane_job", {"n": n}, queue_name=queue, queue_concurrency_limit=3).id for n in range(4)]
    assert list(Execution.objects.filter(id__in=ids, rung_at__isnull=False).order_by("created_at").values_list(
        "id", flat=True)) == ids[:3]  # fmt: skip
    monkeypatch.setattr(running_task, "lane", [queue, None, 3], raising=False)
    store = get_store()
    claims = [store.claim(ids[0], "test:1", 30) for _ in range(4)]  # its doorbell, then three duplicates
    # The duplicates stand for the lane's slots: each claims the first rung execution still queued,
    # until the lane is full (the fourth execution was never rung: no free slot).
    assert [c.execution.id if c else None for c in claims] == [ids[0], ids[1], ids[2], None]
    assert Execution.objects.get(id=ids[3]).status == "queued"
