"""Worker presence and the workers / queues status endpoints (``polos_django.presence``, ``.status``).

The Redis database is shared with other test sessions of the same backend, so every check looks
for this test's own workers (by pid or hostname) instead of expecting an exact list.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework.test import APIClient

from polos import WorkflowContext, workflow
from polos_django import live, presence
from polos_django.api import registry
from tests.api.conftest import Tenant, api_client
from tests.conftest import wait_until


def _worker_by_pid(api: APIClient, pid: int) -> dict[str, Any] | None:
    body = api.get("/api/v1/workers").json()
    assert body["known"] is True
    return next((w for w in body["workers"] if w["pid"] == pid), None)


def _queue(api: APIClient, name: str) -> dict[str, Any] | None:
    return next((q for q in api.get("/api/v1/queues").json()["queues"] if q["name"] == name), None)


@pytest.mark.once
def test_heartbeat_record_expires_unless_refreshed() -> None:
    hostname = f"hb-{uuid.uuid4().hex[:8]}@test"
    beat = presence.Heartbeat(hostname, ["q1", "q1", "q0"], ["wf_b", "wf_a"], 3, interval=0.2)
    assert beat.beat()
    record = json.loads(live.redis_client().get(presence.key(hostname)))
    assert record["queues"] == ["q0", "q1"] and record["workflows"] == ["wf_a", "wf_b"]
    assert record["concurrency"] == 3 and record["expires_in_seconds"] == pytest.approx(0.6)
    assert 0 < live.redis_client().pttl(presence.key(hostname)) <= 600
    assert any(w["hostname"] == hostname for w in presence.live_workers() or [])
    # Not refreshed (a dead worker): gone after three intervals.
    wait_until(lambda: all(w["hostname"] != hostname for w in presence.live_workers() or []), timeout=10)


@pytest.mark.once
def test_heartbeat_keeps_the_record_and_stop_removes_it() -> None:
    hostname = f"hb-{uuid.uuid4().hex[:8]}@test"
    presence.start(hostname, ["q"], [], 1)
    try:
        # start() uses the configured interval (10 s): refreshed long before its 30 s expiry.
        assert any(w["hostname"] == hostname for w in presence.live_workers() or [])
    finally:
        presence.stop(hostname)
    assert live.redis_client().exists(presence.key(hostname)) == 0


@pytest.mark.once
def test_presence_without_redis_is_unknown(settings: Any) -> None:
    settings.POLOS = {**settings.POLOS, "REDIS_URL": ""}
    assert presence.live_workers() is None
    assert presence.Heartbeat("x@y", [], [], 1).beat() is False


def test_workers_endpoint_lists_live_workers_and_forgets_dead_ones(
    api: APIClient, start_workers: Any, tenant: Tenant
) -> None:
    mine = f"api-status-{uuid.uuid4().hex[:6]}"
    queues = f"{settings.CELERY_TASK_DEFAULT_QUEUE},{mine}"
    [crashing] = start_workers(1, queues=queues, extra_env={"POLOS_WORKER_HEARTBEAT_SECONDS": "0.5"})
    [clean] = start_workers(1, queues=mine, extra_env={"POLOS_WORKER_HEARTBEAT_SECONDS": "60"})

    found = wait_until(lambda: _worker_by_pid(api, crashing.pid), message="the worker's presence")
    assert set(found["queues"]) == {settings.CELERY_TASK_DEFAULT_QUEUE, mine}
    assert "dj_noop" in found["workflows"], found["workflows"]
    assert found["concurrency"] == 1 and found["running"] == 0
    assert found["heartbeat_seconds"] == 0.5 and found["expires_in_seconds"] == 1.5
    assert found["pids"] == [crashing.pid] and found["started_at"] <= found["last_seen"]
    # The record is refreshed while the worker lives.
    first_seen = found["last_seen"]
    wait_until(lambda: _worker_by_pid(api, crashing.pid)["last_seen"] > first_seen, timeout=20)
    other = wait_until(lambda: _worker_by_pid(api, clean.pid))
    assert other["queues"] == [mine] and "dj_noop" not in other["workflows"]
    assert mine in {q["name"] for q in api.get("/api/v1/queues").json()["queues"]}
    assert sorted(_queue(api, mine)["workers"]) == sorted([found["hostname"], other["hostname"]])

    crashing.kill()  # no clean-up: its record expires
    wait_until(lambda: _worker_by_pid(api, crashing.pid) is None, timeout=30, message="expiry of a dead worker")
    clean.stop()  # a clean shutdown deletes its record long before its 180 s expiry
    wait_until(lambda: _worker_by_pid(api, clean.pid) is None, timeout=30, message="removal on shutdown")


def test_workflows_are_marked_unavailable_when_their_workers_are_gone(api: APIClient) -> None:
    from polos.workflow import Workflow

    workflow_id = f"status_announced_{uuid.uuid4().hex[:6]}"
    hostname = f"gone-{uuid.uuid4().hex[:6]}@test"

    class Announced:  # what registry.announce reads from a workflow
        id = workflow_id
        description = "announced by a worker of another process"
        workflow_type = "workflow"
        queue = None

    assert not isinstance(Announced, Workflow)
    registry.announce([Announced], hostname)
    try:

        def listed() -> dict[str, Any]:
            return {w["id"]: w for w in api.get("/api/v1/workflows").json()["workflows"]}[workflow_id]

        assert listed()["available"] is False and listed()["workers"] == []
        beat = presence.Heartbeat(hostname, [workflow_id], [workflow_id], 1, interval=30).start()
        try:
            assert listed()["available"] is True and listed()["workers"] == [hostname]
        finally:
            beat.stop()
        assert listed()["available"] is False
    finally:
        registry.forget(workflow_id)


def test_queues_count_the_projects_executions_per_status_and_lane(
    api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    queue = f"api-status-parked-{uuid.uuid4().hex[:6]}"

    def run(client: APIClient, **body: Any) -> None:
        response = client.post("/api/v1/workflows/dj_noop/run", {"queue_name": queue, **body}, format="json")
        assert response.status_code == 201, response.json()

    for key in ("tenant-a", "tenant-a", "tenant-b"):
        run(api, concurrency_key=key, queue_concurrency_limit=1)
    run(api)
    run(api_client(other_tenant))  # another project's: not counted for this one

    found = _queue(api, queue)
    assert found is not None
    assert (found["queued"], found["running"], found["waiting"]) == (4, 0, 0)
    lanes = {lane["concurrency_key"]: lane for lane in found["lanes"]}
    assert set(lanes) == {"tenant-a", "tenant-b"}
    assert lanes["tenant-a"]["queued"] == 2 and lanes["tenant-a"]["concurrency_limit"] == 1
    assert lanes["tenant-b"]["queued"] == 1
    # Nobody consumes the queue: the doorbells wait in the broker (every project's, limited lanes
    # rationed to their free slots: one per lane, plus the unlimited two).
    assert found["backlog"] >= 4 and found["workers"] == []
    assert _queue(api_client(other_tenant), queue)["queued"] == 1


def test_status_endpoints_need_a_key(tenant: Tenant) -> None:
    for path in ("/api/v1/workers", "/api/v1/queues"):
        response = api_client(None).get(path)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


@pytest.mark.once
def test_status_module_without_redis(settings: Any, tenant: Tenant) -> None:
    from polos_django import status

    settings.POLOS = {**settings.POLOS, "REDIS_URL": ""}
    assert status.workers(tenant.project_id) is None
    assert status.workflow_availability() is None
    result = status.queues(tenant.project_id)
    assert result["workers_known"] is False and result["queues"]


async def test_polos_client_lists_workers_and_queues(live_api: Any, tenant: Tenant, worker: Any) -> None:
    from polos import PolosClient

    async with PolosClient(live_api.url, tenant.key, tenant.project_id) as client:
        workers = await client.list_workers()
        mine = next(w for w in workers if w["pid"] == worker.pid)
        assert settings.CELERY_TASK_DEFAULT_QUEUE in mine["queues"] and "dj_noop" in mine["workflows"]
        queues = {q["name"]: q for q in await client.list_queues()}
        default = queues[settings.CELERY_TASK_DEFAULT_QUEUE]
        assert mine["hostname"] in default["workers"] and isinstance(default["backlog"], int)
        listed = {w["id"]: w for w in await client.list_workflows()}
        assert listed["dj_noop"]["available"] is True and mine["hostname"] in listed["dj_noop"]["workers"]


@workflow(id="api_status_inproc")
async def status_inproc(ctx: WorkflowContext, payload: dict) -> int:
    return 1


@pytest.mark.worker
@pytest.mark.timeout(120)
async def test_an_in_process_worker_is_present_while_it_runs(transactional_db: Any) -> None:
    from polos import Worker
    from polos_django import status

    worker = Worker(workflows=[status_inproc])
    await worker.start()
    try:
        found = next(w for w in await sync_to_async(presence.live_workers)() or [] if w["hostname"] == worker.hostname)
        assert found["queues"] == ["api_status_inproc"] and found["workflows"] == ["api_status_inproc"]
        assert found["concurrency"] == 1 and found["pid"] == os.getpid()
        served = await sync_to_async(status.workflow_availability)()
        assert worker.hostname in (served or {}).get("api_status_inproc", [])
    finally:
        await worker.shutdown()
        registry.forget("api_status_inproc")
    # A clean shutdown removes the record at once.
    assert all(w["hostname"] != worker.hostname for w in await sync_to_async(presence.live_workers)() or [])
