"""Invoke to result through the API, with the DRF test client and with ``PolosClient`` over HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from examples.basics.workflows import Receipt
from examples.support import resume_when_waiting
from polos import PolosClient
from polos.exceptions import (
    ExecutionFailedError,
    ExecutionNotFoundError,
    NotResumableError,
    PayloadValidationError,
    WorkflowNotFoundError,
    WorkflowTimeoutError,
)
from polos.http_client import AuthenticationError, PermissionDeniedError
from polos_django.keys import revoke_key
from polos_django.models import ApiKey
from tests.api.conftest import LiveServer, Tenant
from tests.conftest import wait_until
from tests.sampleapp.workflows import dj_steps

pytestmark = [pytest.mark.worker, pytest.mark.timeout(120)]


def test_invoke_and_wait_through_the_api(api: APIClient, worker: Any) -> None:
    handle = api.post("/api/v1/workflows/dj_steps/run", {"payload": {"steps": 3}}, format="json").json()
    result = api.get(f"/api/v1/executions/{handle['id']}/result?timeout=30").json()
    assert result["status"] == "completed"
    assert result["result"] == {"values": ["s0", "s1", "s2"], "n": 3}
    assert api.get(f"/api/v1/executions/{handle['id']}").json()["status"] == "completed"


def test_run_and_wait_in_one_request(api: APIClient, worker: Any) -> None:
    done = api.post("/api/v1/workflows/dj_steps/run", {"payload": {"steps": 2}, "wait_seconds": 30}, format="json")
    assert done.status_code == 201
    body = done.json()
    assert body["result"]["status"] == "completed" and body["result"]["execution_id"] == body["id"]
    assert body["result"]["result"] == {"values": ["s0", "s1"], "n": 2}

    # The wait ends first: the handle, no result; the execution goes on.
    waiting = api.post("/api/v1/workflows/dj_approval/run", {"payload": {}, "wait_seconds": 0.2}, format="json")
    assert waiting.status_code == 201 and waiting.json()["result"] is None
    wait_until(lambda: api.get(f"/api/v1/executions/{waiting.json()['id']}").json()["status"] == "waiting")

    failed = api.post(
        "/api/v1/workflows/dj_child/run", {"payload": {"i": 3, "fail": True}, "wait_seconds": 30}, format="json"
    ).json()
    assert failed["result"]["status"] == "failed" and "child 3 failed on purpose" in failed["result"]["message"]


def test_suspend_and_resume_through_the_api(api: APIClient, worker: Any) -> None:
    handle = api.post("/api/v1/workflows/dj_approval/run", {"payload": {}}, format="json").json()
    wait_until(lambda: api.get(f"/api/v1/executions/{handle['id']}").json()["status"] == "waiting")
    resumed = api.post(
        f"/api/v1/executions/{handle['id']}/resume", {"step_key": "approve", "data": {"approved": True}}, format="json"
    )
    assert resumed.status_code == 200 and resumed.json()["execution_id"] == handle["id"]
    result = api.get(f"/api/v1/executions/{handle['id']}/result?timeout=30").json()
    assert result["result"] == {"approved": True}
    again = api.post(f"/api/v1/executions/{handle['id']}/resume", {"step_key": "approve"}, format="json")
    assert again.status_code == 409


def test_failed_execution_result(api: APIClient, worker: Any) -> None:
    handle = api.post("/api/v1/workflows/dj_child/run", {"payload": {"i": 7, "fail": True}}, format="json").json()
    result = api.get(f"/api/v1/executions/{handle['id']}/result?timeout=30").json()
    assert result["status"] == "failed" and result["error_type"] == "ValueError"
    assert "child 7 failed on purpose" in result["message"]


async def test_polos_client_end_to_end(live_api: LiveServer, tenant: Tenant, worker: Any) -> None:
    client = PolosClient(live_api.url, tenant.key, tenant.project_id)
    async with client:
        assert await dj_steps.run(client, {"steps": 2}, timeout=30) == {"values": ["s0", "s1"], "n": 2}
        # Workflow.run over HTTP is one request (PolosClient.invoke_and_wait), also when it fails or times out.
        from tests.sampleapp.workflows import dj_approval, dj_child

        with pytest.raises(ExecutionFailedError, match="child 4 failed on purpose"):
            await dj_child.run(client, {"i": 4, "fail": True}, timeout=30)
        with pytest.raises(WorkflowTimeoutError):
            await dj_approval.run(client, {}, timeout=0.3)

        handle = await client.invoke("dj_approval", {})
        with pytest.raises(WorkflowTimeoutError):
            await client.wait_for_result(handle.id, timeout=0.3)
        await resume_when_waiting(client, handle, "approve", {"approved": False})
        assert await client.wait_for_result(handle.id, timeout=30) == {"approved": False}
        with pytest.raises(NotResumableError):
            await client.resume(handle.root_workflow_id, handle.id, "approve", {})
        assert (await handle.get(client))["status"] == "completed"

        failing = await client.invoke("dj_child", {"i": 3, "fail": True})
        with pytest.raises(ExecutionFailedError, match="child 3 failed on purpose") as failed:
            await client.wait_for_result(failing.id, timeout=30)
        assert failed.value.details["error_type"] == "ValueError"

        [one, two] = await client.batch_invoke(
            [{"id": "dj_child", "payload": {"i": 1}}, {"id": "dj_noop", "payload": {}}]
        )
        assert await client.wait_for_result(one.id, timeout=30) == {"i": 1, "double": 2}
        assert await client.wait_for_result(two.id, timeout=30) == 1

        parked = await client.invoke("dj_approval", {})
        assert await parked.cancel(client) is True
        # Queued or waiting, it is cancelled at once; caught running (the worker was quick), it stops
        # at its next step boundary.  Once it is finished, a cancel has nothing to do.
        for _ in range(300):
            if (await parked.get(client))["status"] == "cancelled":
                break
            await asyncio.sleep(0.05)
        assert (await parked.get(client))["status"] == "cancelled"
        assert await client.cancel_execution(parked.id) is False
        assert await client.cancel_execution("no-such-id") is False

        with pytest.raises(WorkflowNotFoundError, match="not registered"):
            await client.invoke("no_such_workflow")
        with pytest.raises(PayloadValidationError, match="steps"):
            await client.invoke("dj_steps", {"steps": "many"})
        with pytest.raises(ExecutionNotFoundError):
            await client.get_execution("no-such-id")


async def test_pydantic_results_round_trip(live_api: LiveServer, tenant: Tenant, worker: Any) -> None:
    """The basics example, unchanged, against the HTTP API: a model result comes back as the model."""
    from examples.basics.main import main

    async with PolosClient(live_api.url, tenant.key, tenant.project_id) as client:
        out = await main(client)
    assert isinstance(out["receipt"], Receipt)
    assert out["notification"].startswith("sent 'order")


async def test_client_auth_errors(live_api: LiveServer, tenant: Tenant, other_tenant: Tenant) -> None:
    wrong_project = PolosClient(live_api.url, other_tenant.key, tenant.project_id)
    with pytest.raises(PermissionDeniedError, match="another project"):
        await wrong_project.get_execution("x")
    await sync_to_async(lambda: revoke_key(ApiKey.objects.get(pk=tenant.key_id)))()
    revoked = PolosClient(live_api.url, tenant.key, tenant.project_id)
    with pytest.raises(AuthenticationError):
        await revoked.list_workflows()


async def test_wait_is_pushed_not_polled(live_api: LiveServer, tenant: Tenant, worker: Any) -> None:
    """Many concurrent waits answer as soon as each execution finishes (one long poll each)."""
    async with PolosClient(live_api.url, tenant.key, tenant.project_id) as client:
        handles = [await client.invoke("dj_child", {"i": i}) for i in range(5)]
        started = time.monotonic()
        results = await asyncio.gather(*(client.wait_for_result(h.id, timeout=30) for h in handles))
        elapsed = time.monotonic() - started
    assert [r["double"] for r in results] == [0, 2, 4, 6, 8]
    # Without the push each wait would notice its finish at the server's 5 s database re-check.
    assert elapsed < 3.0
