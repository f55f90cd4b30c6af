"""Event-triggered workflows: one execution per event (or batch), exactly once."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection

from polos import get_all_workflows
from polos_django import client
from polos_django.store import get_store, triggers
from tests.conftest import wait_until
from tests.flow.workflows import BATCH_TOPIC, TOPIC

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def registered() -> None:
    # The worker registers triggers when it starts; the test database is emptied between tests.
    triggers.register(get_all_workflows().values())


def _executions(workflow_id: str) -> list[tuple[str, str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, status, payload FROM polos_execution WHERE workflow_id = %s ORDER BY created_at", [workflow_id]
        )
        return [(r[0], r[1], json.loads(r[2])) for r in cursor.fetchall()]


def test_each_event_starts_the_workflow_once(worker: Any) -> None:
    for n in range(3):
        client.publish(TOPIC, {"event_type": "paid", "data": {"order": n}})
    client.publish(f"{TOPIC}-other", {"event_type": "paid", "data": {"order": 99}})
    rows = wait_until(lambda: (r := _executions("flow_on_order")) and len(r) == 3 and r, message="3 executions")
    results = [client.wait_for_result(execution_id, timeout=60) for execution_id, _, _ in rows]
    assert results == [[{"order": 0}], [{"order": 1}], [{"order": 2}]]
    payload = rows[0][2]
    [event] = payload["events"]
    assert event["topic"] == TOPIC and event["event_type"] == "paid" and event["sequence_id"] > 0


def test_batches_and_timeout(worker: Any) -> None:
    for n in range(7):
        client.publish(BATCH_TOPIC, {"data": n})
    # Two full batches at once; the partial third one after batch_timeout_seconds (reaper sweep).
    full = _executions("flow_on_clicks")
    assert [len(p["events"]) for _, _, p in full] == [3, 3]
    rows = wait_until(lambda: (r := _executions("flow_on_clicks")) and len(r) == 3 and r, message="timeout flush")
    results = [client.wait_for_result(execution_id, timeout=60) for execution_id, _, _ in rows]
    assert results == [[0, 1, 2], [3, 4, 5], [6]]


def test_events_from_other_projects_are_batched_apart() -> None:
    client.publish(BATCH_TOPIC, {"data": "a"}, project_id="proj_one")
    client.publish(BATCH_TOPIC, {"data": "b"}, project_id="proj_two")
    for n in range(2):
        client.publish(BATCH_TOPIC, {"data": n}, project_id="proj_one")
    rows = _executions("flow_on_clicks")
    assert len(rows) == 1
    assert [e["data"] for e in rows[0][2]["events"]] == ["a", 0, 1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT project_id FROM polos_execution WHERE id = %s", [rows[0][0]])
        assert cursor.fetchone()[0] == "proj_one"


def test_concurrent_publishers_and_sweeps_consume_each_event_once() -> None:
    errors: list[BaseException] = []

    def publish(offset: int) -> None:
        from django.db import connection as thread_connection

        try:
            for n in range(25):
                client.publish(BATCH_TOPIC, {"data": offset + n})
                if n % 5 == 0:
                    triggers.sweep()
        except BaseException as exc:
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=publish, args=(i * 100,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    # 100 events: 33 full batches at once, the last event after the timeout.
    get_store().reap(now=None)
    seen = [e["sequence_id"] for _, _, p in _executions("flow_on_clicks") for e in p["events"]]
    assert len(seen) == len(set(seen)) and len(seen) in (99, 100)
    import datetime as dt

    from polos.store import utcnow

    triggers.sweep(utcnow() + dt.timedelta(seconds=5))
    seen = [e["sequence_id"] for _, _, p in _executions("flow_on_clicks") for e in p["events"]]
    assert len(seen) == 100 and len(set(seen)) == 100


def test_a_workflow_that_no_longer_triggers_loses_its_trigger() -> None:
    from polos_django.models import EventTrigger, TriggerCursor

    # Its code as first deployed, then with trigger_on_event removed.
    first = SimpleNamespace(
        id="flow_retired", trigger_on_event="retired/topic", batch_size=1, batch_timeout_seconds=None, queue=None
    )
    assert triggers.register([first]) == 1
    trigger = EventTrigger.objects.get(workflow_id="flow_retired")
    TriggerCursor.objects.create(trigger=trigger, project_id="default", last_sequence=0)
    assert triggers.register([SimpleNamespace(id="flow_retired", trigger_on_event=None)]) == 0
    assert not EventTrigger.objects.filter(workflow_id="flow_retired").exists()
    assert not TriggerCursor.objects.filter(trigger_id=trigger.id).exists()
    client.publish("retired/topic", {"n": 1})
    assert _executions("flow_retired") == []
    # Workflows this process does not serve keep theirs.
    assert EventTrigger.objects.filter(workflow_id="flow_on_order").exists()
