"""The schedule endpoints and the flow-control fields of the invoke endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from polos_django.models import Execution, Schedule
from tests.api.conftest import api_client, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _api_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.api.urls"


def test_schedule_endpoints_are_scoped_to_the_project() -> None:
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    api, other = api_client(alpha), api_client(beta)
    body = {"workflow_id": "flow_scheduled", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}
    created = api.post("/api/v1/schedules", body, format="json")
    assert created.status_code == 201, created.content
    schedule = created.json()
    assert schedule["cron"] == "0 9 * * 1-5" and schedule["next_occurrence"] and schedule["key"] == "global"
    assert Schedule.objects.get(pk=schedule["id"]).project_id == alpha.project_id
    assert api.get("/api/v1/schedules?workflow_id=flow_scheduled").json()["schedules"][0]["id"] == schedule["id"]
    assert other.get("/api/v1/schedules").json() == {"schedules": []}
    assert other.post(f"/api/v1/schedules/{schedule['id']}/pause").status_code == 404

    paused = api.post(f"/api/v1/schedules/{schedule['id']}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert api.post(f"/api/v1/schedules/{schedule['id']}/resume").json()["paused"] is False
    assert api.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204
    assert not PeriodicTask.objects.filter(name=f"polos:{schedule['id']}").exists()
    missing = api.delete(f"/api/v1/schedules/{schedule['id']}")
    assert missing.status_code == 404 and missing.json()["code"] == "schedule_not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cron": "0 9 * *"}, "it needs 5"),
        ({"cron": "61 9 * * *"}, "minute value 61"),
        ({"cron": "0 9 * * *", "timezone": "Nowhere/City"}, "unknown timezone"),
        ({"cron": "0 9 * * *", "workflow_id": "flow_on_order"}, "event-triggered"),
    ],
)
def test_bad_schedules_get_400_naming_the_problem(body: dict[str, str], message: str) -> None:
    api = api_client(make_tenant("alpha"))
    response = api.post("/api/v1/schedules", {"workflow_id": "flow_scheduled", **body}, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["message"]


def test_invoke_with_priority_and_limits() -> None:
    api = api_client(make_tenant("alpha"))
    response = api.post(
        "/api/v1/workflows/flow_lane_job/run",
        {"payload": {"n": 1}, "priority": 5, "concurrency_key": "t1", "queue_name": "parked-flow-api"},
        format="json",
    )
    assert response.status_code == 201, response.content
    row = Execution.objects.get(pk=response.json()["id"])
    assert (row.priority, row.concurrency_key, row.queue_name) == (5, "t1", "parked-flow-api")
    bad = api.post("/api/v1/workflows/flow_lane_job/run", {"payload": {}, "queue_concurrency_limit": -1}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "queue_concurrency_limit"


@pytest.fixture
def daphne_server() -> Any:
    from tests.api.conftest import LiveServer

    server = LiveServer().start()
    yield server
    server.stop()


def test_polos_client_schedules_and_priority_over_http(daphne_server: Any) -> None:
    import asyncio

    from polos import PolosClient, schedules
    from polos.exceptions import PayloadValidationError, ScheduleNotFoundError

    tenant = make_tenant("alpha")

    async def scenario() -> None:
        async with PolosClient(api_url=daphne_server.url, api_key=tenant.key, project_id=tenant.project_id) as client:
            schedule_id = await schedules.create(client, "flow_scheduled", "15 6 * * *", timezone="Asia/Tokyo")
            [item] = await schedules.list(client, "flow_scheduled")
            assert item["id"] == schedule_id and item["timezone"] == "Asia/Tokyo"
            await schedules.pause(client, schedule_id)
            assert (await schedules.list(client))[0]["paused"] is True
            await schedules.resume(client, schedule_id)
            await schedules.delete(client, schedule_id)
            assert await schedules.list(client) == []
            with pytest.raises(ScheduleNotFoundError):
                await schedules.delete(client, schedule_id)
            with pytest.raises(PayloadValidationError, match="day of month value 32"):
                await client.create_schedule("flow_scheduled", "0 0 32 * *")
            handle = await client.invoke("flow_lane_job", {"n": 1}, queue_name="parked-flow-http", priority=7)
            assert (await client.get_execution(handle.id))["priority"] == 7

    asyncio.run(scenario())
