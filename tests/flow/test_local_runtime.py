"""Concurrency limits in the in-memory runtime (polos.testing.LocalRuntime)."""

from __future__ import annotations

import asyncio

import pytest

from polos import WorkflowContext, queue, workflow
from polos.testing import LocalRuntime

RUNNING: list[int] = []
PEAK: list[int] = [0]


@workflow(id="flow_local_lane", queue=queue("flow-local-lane", concurrency_limit=2))
async def local_lane(ctx: WorkflowContext, payload: dict[str, int]) -> int:
    async def work() -> int:
        RUNNING.append(payload["n"])
        PEAK[0] = max(PEAK[0], len(RUNNING))
        await asyncio.sleep(0.01)
        RUNNING.remove(payload["n"])
        return payload["n"]

    return int(await ctx.step.run("work", work))


@pytest.mark.once
def test_local_runtime_honours_the_lane_limit() -> None:
    async def scenario() -> list[int]:
        runtime = LocalRuntime()
        handles = [await local_lane.invoke(runtime.client, {"n": n}) for n in range(8)]
        await runtime.run_until_idle()
        return [n for n, h in enumerate(handles) if runtime.store.get_execution(h.id).status == "completed"]

    assert asyncio.run(scenario()) == list(range(8))
    assert PEAK[0] == 2
