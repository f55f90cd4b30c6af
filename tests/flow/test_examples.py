"""The flow examples run in memory (where they can) and on a real worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest

from examples.flow_events.main import main as events_main
from examples.flow_queues.main import main as queues_main
from examples.flow_schedules.main import main as schedules_main
from polos.testing import LocalRuntime

ON_WORKER = pytest.param("worker", marks=[pytest.mark.django_db(transaction=True)])


@pytest.fixture
def django_client(worker: Any) -> Iterator[Any]:
    from celery import current_app

    from polos_django.client import LocalClient
    from polos_django.flow import sync_definitions
    from tests.celery_app import app

    sync_definitions()  # the worker did at start; the test database is emptied between tests
    previous = current_app._get_current_object()
    app.set_current()
    yield LocalClient()
    previous.set_current()


@pytest.fixture(params=["memory", ON_WORKER])
def client(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return LocalRuntime().client
    return request.getfixturevalue("django_client")


def test_flow_queues(client: Any) -> None:
    result = asyncio.run(asyncio.wait_for(queues_main(client), timeout=120))
    assert len(result["documents"]) == 8 and "acme-urgent.pdf" in result["documents"]
    assert 1 <= result["peak"]["acme"] <= 2 and 1 <= result["peak"]["globex"] <= 2
    # The urgent report was created last but starts before Acme's other queued reports (at worst
    # after the two that started before it existed).
    assert result["urgent_rank"] <= 3


def test_flow_events(client: Any) -> None:
    result = asyncio.run(asyncio.wait_for(events_main(client), timeout=120))
    assert result["orders"] == [(0, 12.5), (1, 40.0), (2, 7.25)]
    assert result["click_batches"] == [["/p/0", "/p/1", "/p/2"], ["/p/3", "/p/4", "/p/5"]]


@pytest.mark.django_db(transaction=True)
def test_flow_schedules(django_client: Any) -> None:
    from polos_django import client as sync_client
    from polos_django import schedules
    from polos_django.models import Schedule

    result = asyncio.run(schedules_main(django_client))
    assert [s[:4] for s in result["schedules"]] == [
        ("user-ada", "0 8 * * *", "Europe/London", False),
        ("user-grace", "30 7 * * *", "America/New_York", False),
        ("user-linus", "30 7 * * *", "Europe/Helsinki", True),
    ]
    assert result["left"] == 0
    # The declared digest schedule: fire its next occurrence (as beat would) and run it.
    digest = Schedule.objects.get(workflow_id="flow_schedules_digest", key="weekday-digest")
    assert digest.timezone == "Europe/Paris" and digest.next_occurrence is not None
    local = digest.next_occurrence.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (8, 0) and local.weekday() < 5
    [execution_id] = schedules.fire(digest.id, digest.next_occurrence + dt.timedelta(seconds=1))
    assert sync_client.wait_for_result(execution_id, timeout=60).startswith("digest for ")
