"""Workflows used by the Django and durability tests (autodiscovered like admin.py)."""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from polos import WorkflowContext, WorkflowState, workflow

from .models import Invocation


def _log(execution_id: str, key: str, sleep: float = 0.0) -> str:
    Invocation.objects.create(execution_id=execution_id, key=key, pid=os.getpid())
    if sleep:
        time.sleep(sleep)
    return key


class StepsIn(BaseModel):
    steps: int = 10
    sleep: float = 0.0


@workflow(id="dj_steps")
async def dj_steps(ctx: WorkflowContext, payload: StepsIn) -> dict:
    values = []
    for i in range(payload.steps):
        values.append(await ctx.step.run(f"s{i}", _log, ctx.execution_id, f"s{i}", payload.sleep))
    return {"values": values, "n": len(values)}


@workflow(id="dj_noop")
async def dj_noop(ctx: WorkflowContext, payload: dict) -> int:
    async def noop() -> None:
        return None

    for i in range(int(payload.get("steps", 1))):
        await ctx.step.run(f"n{i}", noop)
    return int(payload.get("steps", 1))


@workflow(id="dj_approval")
async def dj_approval(ctx: WorkflowContext, payload: dict) -> dict:
    await ctx.step.run("before", _log, ctx.execution_id, "before")
    decision = await ctx.step.suspend("approve", {"_form": {"title": "Approve?"}}, timeout=payload.get("timeout"))
    await ctx.step.run("after", _log, ctx.execution_id, "after")
    return {"approved": decision["data"].get("approved")}


@workflow(id="dj_timer")
async def dj_timer(ctx: WorkflowContext, payload: dict) -> str:
    await ctx.step.run("before", _log, ctx.execution_id, "before")
    await ctx.step.wait_for("nap", days=1)
    await ctx.step.run("after", _log, ctx.execution_id, "after")
    return "woke"


@workflow(id="dj_child")
async def dj_child(ctx: WorkflowContext, payload: dict) -> dict:
    if payload.get("fail"):
        raise ValueError(f"child {payload.get('i')} failed on purpose")
    return {"i": payload.get("i"), "double": 2 * int(payload.get("i", 0))}


@workflow(id="dj_parent")
async def dj_parent(ctx: WorkflowContext, payload: dict) -> dict:
    one = await ctx.step.invoke_and_wait("one", dj_child, {"i": 1})
    many = await ctx.step.batch_invoke_and_wait(
        "many", [{"id": "dj_child", "payload": {"i": i, "fail": i == 2}} for i in range(4)]
    )
    return {"one": one, "many": [(r.success, r.result, r.error) for r in many]}


@workflow(id="dj_event_waiter")
async def dj_event_waiter(ctx: WorkflowContext, payload: dict) -> dict:
    event = await ctx.step.wait_for_event("ev", payload["topic"], timeout=payload.get("timeout"))
    return {"type": event.event_type, "data": event.data}


class Counter(WorkflowState):
    count: int = 0


@workflow(id="dj_stateful", state_schema=Counter)
async def dj_stateful(ctx: WorkflowContext, payload: dict) -> int:
    ctx.state.count += 1
    await ctx.step.suspend("wait")
    ctx.state.count += 1
    return ctx.state.count


@workflow(id="dj_sleeper")
async def dj_sleeper(ctx: WorkflowContext, payload: dict) -> str:
    for i in range(int(payload.get("steps", 50))):
        await ctx.step.run(f"z{i}", _log, ctx.execution_id, f"z{i}", float(payload.get("sleep", 0.1)))
    return "done"
