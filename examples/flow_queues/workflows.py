"""Report rendering on a shared queue: at most 2 reports per tenant render at once."""

from __future__ import annotations

import asyncio
from typing import Any

from polos import WorkflowContext, queue, workflow

# One queue for every tenant; the limit applies per concurrency key (the tenant id), so a tenant
# that asks for a hundred reports holds two slots, and the others keep theirs.
reports = queue("flow-queues-reports", concurrency_limit=2)


async def render(name: str) -> str:
    await asyncio.sleep(0.05)  # the expensive part
    return f"{name}.pdf"


@workflow(id="flow_queues_report", queue=reports)
async def report(ctx: WorkflowContext, payload: dict[str, Any]) -> dict[str, Any]:
    started = await ctx.step.now("started")
    document = await ctx.step.run("render", render, payload["name"])
    finished = await ctx.step.now("finished")
    return {"tenant": payload["tenant"], "document": document, "started": started, "finished": finished}
