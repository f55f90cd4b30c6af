"""Recording a step with user events (``publish_event``) against the real database.

On PostgreSQL this is one call of the ``polos_record_step`` function (fence, topic locks, step,
events, event-wait wake-ups); on SQLite the general transaction.  Both must behave the same.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polos.exceptions import LeaseLost
from polos.store import WAIT_EVENT, NewEvent, NewExecution, StepRecord, StepWrite, WaitSpec
from polos_django import doorbell
from polos_django.models import Event, Execution, Step, Wait
from polos_django.store import get_store, triggers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rung(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(
        doorbell, "ring", lambda execution_id, queue_name=None, *, lane=None, priority=0: calls.append(execution_id)
    )
    return calls


def _claimed(workflow_id: str) -> Any:
    store = get_store()
    (record,) = store.create_executions([NewExecution(workflow_id, payload="{}", queue_name="steppath-idle")])
    claim = store.claim(record.id, "steppath-test", lease_seconds=60)
    assert claim is not None
    return claim


def _waiting_for(topic: str, key: str = "wait") -> Any:
    claim = _claimed("steppath_waiter")
    get_store().wait(claim, WaitSpec(WAIT_EVENT, key, topic=topic), 0.0)
    return claim.execution


def _publish(claim: Any, key: str, events: list[NewEvent]) -> None:
    get_store().record_step(claim, StepWrite(StepRecord(key, "publish_event", output="null"), events=events))


def test_publish_step_writes_step_and_ordered_events_and_wakes_waiters(rung: list[str]) -> None:
    first = _waiting_for("steppath/orders")
    second = _waiting_for("steppath/orders", key="other")
    elsewhere = _waiting_for("steppath/elsewhere")
    claim = _claimed("steppath_publisher")
    events = [
        NewEvent("created", {"n": 1}, topic="steppath/orders"),
        NewEvent("paid", {"n": 2, "nested": [1, None, "x"]}, topic="steppath/orders"),
        NewEvent("note", None),  # the run's own topic
    ]
    rung.clear()  # creating the executions rang for them
    _publish(claim, "pub", events)

    assert Step.objects.filter(execution_id=claim.execution.id, key="pub").exists()
    rows = list(Event.objects.filter(execution_id=claim.execution.id).order_by("id"))
    assert [(e.topic, e.event_type) for e in rows if e.event_type != "workflow_start"] == [
        ("steppath/orders", "created"),
        ("steppath/orders", "paid"),
        (claim.execution.topic, "note"),
    ]
    for waiter, key in ((first, "wait"), (second, "other")):
        assert Execution.objects.get(id=waiter.id).status == "queued"
        assert not Wait.objects.filter(execution_id=waiter.id).exists()
        payload = json.loads(Step.objects.get(execution_id=waiter.id, key=key).output)
        created = rows[-3]
        assert payload["sequence_id"] == created.id and payload["id"] == str(created.id)
        assert payload["topic"] == "steppath/orders" and payload["event_type"] == "created"
        assert payload["data"] == {"n": 1} and payload["created_at"]
    assert sorted(rung) == sorted([first.id, second.id])
    assert Execution.objects.get(id=elsewhere.id).status == "waiting"


def test_an_event_on_the_runs_own_topic_is_one_round_trip_on_postgresql(rung: list[str]) -> None:
    publisher = _claimed("steppath_publisher")
    waiter = _waiting_for(publisher.execution.topic)
    rung.clear()
    with CaptureQueriesContext(connection) as queries:
        _publish(publisher, "pub", [NewEvent("progress", {"done": 1})])
    if connection.vendor == "postgresql":  # fence, lock, step, event, wake-up and commit: one statement
        assert [q["sql"].split("(")[0] for q in queries.captured_queries] == [
            "SELECT r_kind, r_id, r_a, r_b, r_c, r_d FROM polos_record_step"
        ]
    assert Execution.objects.get(id=waiter.id).status == "queued" and rung == [waiter.id]
    assert json.loads(Step.objects.get(execution_id=waiter.id, key="wait").output)["data"] == {"done": 1}


def test_only_events_after_the_wait_began_wake_it(rung: list[str]) -> None:
    waiter = _waiting_for("steppath/later")
    Wait.objects.filter(execution_id=waiter.id).update(after_sequence=10**12)  # as if registered later
    publisher = _claimed("steppath_publisher")
    rung.clear()
    _publish(publisher, "pub", [NewEvent("early", 1, topic="steppath/later")])
    assert Execution.objects.get(id=waiter.id).status == "waiting" and rung == []


def test_a_stale_token_or_a_recorded_key_writes_nothing(rung: list[str]) -> None:
    claim = _claimed("steppath_publisher")
    _publish(claim, "pub", [NewEvent("one", 1, topic="steppath/fenced")])
    with pytest.raises(LeaseLost):
        _publish(claim, "pub", [NewEvent("again", 2, topic="steppath/fenced")])
    stale = _claimed("steppath_publisher")
    stale.token += 1
    with pytest.raises(LeaseLost):
        _publish(stale, "pub", [NewEvent("stale", 3, topic="steppath/fenced")])
    assert list(Event.objects.filter(topic="steppath/fenced").values_list("event_type", flat=True)) == ["one"]
    assert not Step.objects.filter(execution_id=stale.execution.id).exists()


def test_a_cancel_request_refuses_the_write() -> None:
    from polos.exceptions import WorkflowCancelled

    claim = _claimed("steppath_publisher")
    Execution.objects.filter(id=claim.execution.id).update(cancel_requested=True)
    with pytest.raises(WorkflowCancelled):
        _publish(claim, "pub", [NewEvent("x", 1, topic="steppath/cancelled")])
    assert not Event.objects.filter(topic="steppath/cancelled").exists()


def test_a_published_event_starts_its_triggered_workflow(rung: list[str]) -> None:
    wf = SimpleNamespace(
        id="steppath_on_event",
        trigger_on_event="steppath/trigger",
        batch_size=1,
        batch_timeout_seconds=None,
        queue=None,
    )
    triggers.register([wf])
    _publish(_claimed("steppath_publisher"), "pub", [NewEvent("go", {"n": 1}, topic="steppath/trigger")])
    started = Execution.objects.filter(workflow_id="steppath_on_event")
    assert started.count() == 1


def test_events_without_a_type_or_data(rung: list[str]) -> None:
    publisher = _claimed("steppath_publisher")
    waiter = _waiting_for(publisher.execution.topic)
    _publish(publisher, "pub", [NewEvent(None), NewEvent(None, {"x": [1.5, "é"]})])
    payload = json.loads(Step.objects.get(execution_id=waiter.id, key="wait").output)
    assert payload["event_type"] is None and payload["data"] is None
    stored = Event.objects.filter(execution_id=publisher.execution.id, event_type=None).order_by("id")
    assert [json.loads(e.data) for e in stored] == [None, {"x": [1.5, "é"]}]


def test_a_woken_execution_is_rung_with_its_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    priorities: dict[str, int] = {}
    monkeypatch.setattr(
        doorbell,
        "ring",
        lambda execution_id, queue_name=None, *, lane=None, priority=0: priorities.__setitem__(execution_id, priority),
    )
    store = get_store()
    (record,) = store.create_executions(
        [NewExecution("steppath_waiter", payload="{}", queue_name="steppath-idle", priority=5)]
    )
    claim = store.claim(record.id, "steppath-test", lease_seconds=60)
    assert claim is not None
    store.wait(claim, WaitSpec(WAIT_EVENT, "wait", topic="steppath/urgent"), 0.0)
    priorities.clear()
    _publish(_claimed("steppath_publisher"), "pub", [NewEvent("created", {}, topic="steppath/urgent")])
    assert priorities[record.id] == 5  # on PostgreSQL, from the row of polos_record_step
