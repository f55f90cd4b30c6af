"""``polos.Worker`` and ``polos.Polos``: workflows of this process, served in-process, invoked over HTTP.

The live server does not import this module, so it only learns about these workflows from the
worker's announcement, and their executions must reach this process's worker, not the shared one.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest

from polos import Polos, PolosClient, Worker, WorkflowContext, workflow
from polos.exceptions import WorkflowNotFoundError
from tests.api.conftest import LiveServer, Tenant

pytestmark = [pytest.mark.worker, pytest.mark.timeout(120)]


@workflow(id="api_inproc_child")
async def inproc_child(ctx: WorkflowContext, payload: dict) -> int:
    return int(payload["n"]) + 1


@workflow(id="api_inproc_double")
async def inproc_double(ctx: WorkflowContext, payload: dict) -> dict:
    doubled = await ctx.step.run("double", lambda: int(payload["n"]) * 2)
    child = await ctx.step.invoke_and_wait("child", inproc_child, {"n": doubled})
    approval = await ctx.step.suspend("approve") if payload.get("approve") else None
    return {"n": doubled, "child": child, "pid": os.getpid(), "approval": approval and approval["data"]}


def forget(*workflows: Any) -> None:
    from polos_django.api import registry

    registry.forget(*[wf.id for wf in workflows])


async def test_worker_serves_workflows_the_server_does_not_know(live_api: LiveServer, tenant: Tenant) -> None:
    client = PolosClient(live_api.url, tenant.key, tenant.project_id)
    forget(inproc_double, inproc_child)  # announcements outlive a test session in a shared Redis
    with pytest.raises(WorkflowNotFoundError):
        await client.invoke("api_inproc_double", {"n": 1})
    worker = Worker(client, workflows=[inproc_double, inproc_child])
    await worker.start()
    try:
        assert worker.queues == ["api_inproc_child", "api_inproc_double"]
        result = await inproc_double.run(client, {"n": 2}, timeout=30)
        assert result == {"n": 4, "child": 5, "pid": os.getpid(), "approval": None}

        # A resume through the API wakes it on this worker too (the row carries the routing queue).
        handle = await client.invoke("api_inproc_double", {"n": 1, "approve": True})
        from polos import events

        async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
            if event.event_type == "suspend_approve":
                await client.resume(handle.root_workflow_id, handle.id, "approve", {"ok": True})
        assert (await client.get_execution(handle.id))["result"]["approval"] == {"ok": True}
        assert (await client.get_execution(handle.id))["queue_name"] == "api_inproc_double"

        listed = {w["id"]: w for w in await client.list_workflows()}
        assert listed["api_inproc_double"]["source"] == "worker" and listed["api_inproc_double"]["last_seen"]
    finally:
        await worker.shutdown()
        await client.aclose()
    assert inproc_double.queue is None  # the routing is given back


async def test_polos_is_a_client_and_a_worker(live_api: LiveServer, tenant: Tenant, monkeypatch: Any) -> None:
    monkeypatch.setenv("POLOS_API_URL", live_api.url)
    monkeypatch.setenv("POLOS_API_KEY", tenant.key)
    async with Polos(project_id=tenant.project_id) as polos:
        assert await inproc_double.run(polos, {"n": 5}, timeout=30) == {
            "n": 10,
            "child": 11,
            "pid": os.getpid(),
            "approval": None,
        }
        handle = await polos.invoke("api_inproc_child", {"n": 1})
        assert await handle.get(polos) is not None
        assert await polos.wait_for_result(handle.id, timeout=30) == 2


@workflow(id="api_inproc_sleeper")
async def inproc_sleeper(ctx: WorkflowContext, payload: dict) -> int:
    await ctx.step.run("sleep", time.sleep, 1.0)
    return os.getpid()


async def test_max_concurrent_workflows_runs_executions_in_parallel(live_api: LiveServer, tenant: Tenant) -> None:
    """More than one: Celery's prefork pool; the children inherit this process's workflows."""
    client = PolosClient(live_api.url, tenant.key, tenant.project_id)
    worker = Worker(client, workflows=[inproc_sleeper], max_concurrent_workflows=2)
    await worker.start()
    try:
        started = time.monotonic()
        handles = [await client.invoke("api_inproc_sleeper", {}) for _ in range(2)]
        pids = await asyncio.gather(*(client.wait_for_result(h.id, timeout=60) for h in handles))
        elapsed = time.monotonic() - started
    finally:
        await worker.shutdown()
        await client.aclose()
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert elapsed < 1.9  # two 1 s steps side by side
