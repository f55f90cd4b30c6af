"""Cron schedules: exactly once per occurrence, DST, missed occurrences, pause/resume, SDK and API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import zoneinfo
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from polos import schedules as sdk_schedules
from polos.cron import occurrences
from polos.exceptions import PayloadValidationError, ScheduleNotFoundError
from polos_django import schedules
from polos_django.client import LocalClient
from polos_django.models import Schedule, ScheduleOccurrence
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.UTC
NY = zoneinfo.ZoneInfo("America/New_York")


def _payloads() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM polos_execution WHERE workflow_id = 'flow_scheduled' ORDER BY created_at")
        return [json.loads(row[0]) for row in cursor.fetchall()]


@pytest.mark.once
def test_occurrences_across_dst_changes() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: it runs at 03:30 EDT that day.
    spring = list(occurrences("30 2 * * *", "America/New_York", dt.datetime(2026, 3, 6, 12, tzinfo=UTC)))[:4]
    assert [o.astimezone(NY).strftime("%m-%d %H:%M %Z") for o in spring] == [
        "03-07 02:30 EST",
        "03-08 03:30 EDT",
        "03-09 02:30 EDT",
        "03-10 02:30 EDT",
    ]
    # 01:30 happens twice on 2026-11-01: a daily schedule runs once, an hourly one every hour.
    start = dt.datetime(2026, 10, 31, 12, tzinfo=UTC)
    daily = list(occurrences("30 1 * * *", "America/New_York", start))[:2]
    assert [o.isoformat() for o in daily] == ["2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"]
    end = dt.datetime(2026, 11, 1, 8, tzinfo=UTC)
    hourly = list(occurrences("30 * * * *", "America/New_York", dt.datetime(2026, 11, 1, 3, tzinfo=UTC), end))
    assert [o.strftime("%H:%M") for o in hourly] == ["03:30", "04:30", "05:30", "06:30", "07:30"]


@pytest.mark.once
def test_cron_fields() -> None:
    after = dt.datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    weekdays = list(occurrences("0 9 * * mon-fri", "UTC", after, dt.datetime(2026, 1, 8, tzinfo=UTC)))
    assert [o.day for o in weekdays] == [1, 2, 5, 6, 7]
    # Day-of-month and day-of-week both restricted: either matches (Vixie cron).
    either = list(occurrences("0 0 13 * 5", "UTC", after, dt.datetime(2026, 2, 28, tzinfo=UTC)))
    assert [o.strftime("%m-%d") for o in either] == ["01-02", "01-09", "01-13", "01-16", "01-23", "01-30", "02-06",
                                                       "02-13", "02-20", "02-27"]  # fmt: skip
    assert [o.minute for o in occurrences("*/20 0 * * *", "UTC", after, after + dt.timedelta(hours=1))] == [20, 40]


# The tests that fire schedules at made-up times use 2037 (the same calendar as 2026): their next
# occurrence stays in the future, so the reaper of a running worker never finds them late and fires
# one at the real time while the test runs.
def test_each_occurrence_fires_once_even_with_two_beats() -> None:
    created = dt.datetime(2037, 3, 1, 0, 0, 30, tzinfo=UTC)
    schedule = schedules.create("flow_scheduled", "* * * * *", now=created)
    assert schedule.next_occurrence == dt.datetime(2037, 3, 1, 0, 1, tzinfo=UTC)
    task = PeriodicTask.objects.get(name=schedule.periodic_task_name)
    assert task.task == "polos.fire_schedule" and json.loads(task.args) == [schedule.id] and task.enabled
    assert task.crontab.minute == "*" and str(task.crontab.timezone) == "UTC"

    # Two beats firing the same occurrences at once: each occurrence starts one execution.
    now = dt.datetime(2037, 3, 1, 0, 3, 1, tzinfo=UTC)
    results: list[list[str]] = []

    def fire() -> None:
        from django.db import connection as thread_connection

        try:
            results.append(schedules.fire(schedule.id, now))
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 3]
    assert schedules.fire(schedule.id, now) == []  # a late duplicate beat
    stamps = [p["timestamp"] for p in _payloads()]
    assert stamps == ["2037-03-01T00:01:00+00:00", "2037-03-01T00:02:00+00:00", "2037-03-01T00:03:00+00:00"]
    last = _payloads()[-1]
    assert last["last_timestamp"] == "2037-03-01T00:02:00+00:00"
    assert last["upcoming"] == "2037-03-01T00:04:00+00:00"
    assert last["schedule_id"] == schedule.id and last["key"] == "global" and last["timezone"] == "UTC"
    assert ScheduleOccurrence.objects.filter(schedule=schedule).count() == 3


def test_schedule_across_a_dst_change_fires_each_local_occurrence_once() -> None:
    created = dt.datetime(2037, 3, 6, 12, tzinfo=UTC)
    schedule = schedules.create("flow_scheduled", "30 2 * * *", "America/New_York", now=created)
    for day in range(7, 11):  # a beat tick every local day, around 03:31 local
        schedules.fire(schedule.id, dt.datetime(2037, 3, day, 8, 0, tzinfo=UTC))
    local = [dt.datetime.fromisoformat(p["timestamp"]).astimezone(NY).strftime("%d %H:%M") for p in _payloads()]
    assert local == ["07 02:30", "08 03:30", "09 02:30", "10 02:30"]


@pytest.mark.parametrize(("policy", "expected"), [("run_once", ["2037-03-01T05:00:00+00:00"]), ("skip", [])])
def test_missed_occurrences_policy(policy: str, expected: list[str]) -> None:
    created = dt.datetime(2037, 3, 1, tzinfo=UTC)
    schedule = schedules.create("flow_scheduled", "0 * * * *", missed_policy=policy, now=created)
    # Everything was down for five hours; the beat ticks again at 05:30.
    schedules.fire(schedule.id, dt.datetime(2037, 3, 1, 5, 30, tzinfo=UTC))
    assert [p["timestamp"] for p in _payloads()] == expected
    # Occurrences within the grace period fire, each once.
    schedules.fire(schedule.id, dt.datetime(2037, 3, 1, 6, 0, 5, tzinfo=UTC))
    assert [p["timestamp"] for p in _payloads()] == [*expected, "2037-03-01T06:00:00+00:00"]


def test_pause_resume_delete_and_reaper_fires_late_schedules(worker: Any) -> None:
    client = LocalClient()
    schedule_id = asyncio.run(sdk_schedules.create(client, "flow_scheduled", "* * * * *", key="k1"))
    assert asyncio.run(sdk_schedules.create(client, "flow_scheduled", "*/5 * * * *", key="k1")) == schedule_id
    [item] = asyncio.run(sdk_schedules.list(client, "flow_scheduled"))
    assert item["cron"] == "*/5 * * * *" and item["paused"] is False
    asyncio.run(sdk_schedules.pause(client, schedule_id))
    assert not PeriodicTask.objects.get(name=f"polos:{schedule_id}").enabled
    assert Schedule.objects.get(pk=schedule_id).next_occurrence is None
    assert schedules.fire(schedule_id, dt.datetime(2100, 1, 1, tzinfo=UTC)) == []
    asyncio.run(sdk_schedules.resume(client, schedule_id))
    assert PeriodicTask.objects.get(name=f"polos:{schedule_id}").enabled

    # The reaper (in the worker) fires a schedule whose beat is late: make one overdue.
    past = dt.datetime.now(UTC) - dt.timedelta(minutes=3)
    Schedule.objects.filter(pk=schedule_id).update(
        cron="* * * * *", last_occurrence=past, next_occurrence=past + dt.timedelta(minutes=1)
    )
    wait_until(lambda: len(_payloads()) >= 2, timeout=30, message="the reaper fires late occurrences")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM polos_execution WHERE workflow_id = 'flow_scheduled'")
        ids = [row[0] for row in cursor.fetchall()]
    from polos_django import client as sync_client

    assert all(sync_client.wait_for_result(i, timeout=60).startswith("20") for i in ids)

    asyncio.run(sdk_schedules.delete(client, schedule_id))
    assert not PeriodicTask.objects.filter(name=f"polos:{schedule_id}").exists()
    with pytest.raises(ScheduleNotFoundError):
        asyncio.run(sdk_schedules.pause(client, schedule_id))


def test_bad_schedules_are_refused_with_clear_errors() -> None:
    client = LocalClient()
    with pytest.raises(PayloadValidationError, match="hour value 25 is outside 0-23"):
        asyncio.run(sdk_schedules.create(client, "flow_scheduled", "0 25 * * *"))
    with pytest.raises(PayloadValidationError, match="unknown timezone 'Mars/Olympus'"):
        asyncio.run(sdk_schedules.create(client, "flow_scheduled", "0 1 * * *", timezone="Mars/Olympus"))
    with pytest.raises(PayloadValidationError, match="event-triggered"):
        asyncio.run(sdk_schedules.create(client, "flow_on_order", "0 1 * * *"))
    with pytest.raises(PayloadValidationError, match="missed_policy"):
        schedules.create("flow_scheduled", "0 1 * * *", missed_policy="sometimes")
    assert not Schedule.objects.exists()


def test_a_schedule_removed_from_the_code_is_deleted_but_not_one_made_through_the_api() -> None:
    def keys() -> set[str]:
        return set(Schedule.objects.filter(workflow_id="flow_scheduled").values_list("key", flat=True))

    as_deployed = SimpleNamespace(id="flow_scheduled", schedule={"cron": "0 9 * * *", "timezone": "UTC"})
    assert schedules.sync_declared([as_deployed]) == 1
    schedules.create("flow_scheduled", "0 10 * * *", key="api")  # through the API: not declared
    declared = Schedule.objects.get(workflow_id="flow_scheduled", key="global")
    assert declared.declared and PeriodicTask.objects.filter(name=declared.periodic_task_name).exists()
    assert keys() == {"global", "api"}

    rekeyed = SimpleNamespace(id="flow_scheduled", schedule={"cron": "0 9 * * *", "key": "morning"})
    assert schedules.sync_declared([rekeyed]) == 1
    assert keys() == {"morning", "api"}
    assert not PeriodicTask.objects.filter(name=declared.periodic_task_name).exists()

    assert schedules.sync_declared([SimpleNamespace(id="flow_scheduled", schedule=None)]) == 0
    assert keys() == {"api"}
    assert schedules.sync_declared([]) == 0  # serves nothing: removes nothing
    assert keys() == {"api"}


def test_declared_schedules_go_to_the_project_of_the_workers_client(monkeypatch: Any) -> None:
    from polos_django import flow
    from polos_django.keys import create_key
    from polos_django.models import Project

    project = Project.objects.create(name="tenant")
    _, plaintext = create_key(project)
    assert flow.project_of_client(SimpleNamespace(project_id="explicit")) == "explicit"
    assert flow.project_of_client(SimpleNamespace(project_id=None, api_key=plaintext)) == project.pk
    assert flow.project_of_client(SimpleNamespace(project_id=None, api_key="polos_sk_unknown")) == "default"
    assert flow.project_of_client(None) == "default"

    declared = SimpleNamespace(id="flow_scheduled", schedule={"cron": "0 9 * * *"}, trigger_on_event=None)
    monkeypatch.setattr(flow, "get_all_workflows", lambda: {"flow_scheduled": declared})
    flow.declare_in_project(project.pk)  # what polos.Worker(client=...) does before it serves
    try:
        assert flow.sync_definitions() == {"triggers": 0, "schedules": 1}
    finally:
        flow.declare_in_project("default")
    assert list(Schedule.objects.values_list("project_id", "workflow_id", "declared")) == [
        (project.pk, "flow_scheduled", True)
    ]
