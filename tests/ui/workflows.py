"""Workflows the UI tests and the ui_live benchmark run on real worker processes."""

from __future__ import annotations

import os
import time

from polos import WorkflowContext, workflow

# A queue of this test session alone, consumed only by the worker the OpenTelemetry test starts.
OTEL_QUEUE = f"{os.environ.get('POLOS_TEST_QUEUE', 'polos-test')}-otel"
XSS_OUTPUT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@workflow(id="ui_live")
async def ui_live(ctx: WorkflowContext, payload: dict) -> dict:
    """One step, a wait for an event on ``payload["topic"]``, then two more steps."""
    await ctx.step.run("first", lambda: "one")
    await ctx.step.wait_for_event("go", topic=payload["topic"])
    await ctx.step.run("second", lambda: {"n": 2})
    html = await ctx.step.run("third", lambda: XSS_OUTPUT)
    return {"done": True, "html": html}


@workflow(id="ui_ticks")
async def ui_ticks(ctx: WorkflowContext, payload: dict) -> dict:
    """``payload["ticks"]`` rounds of: wait for an event, then a step that records when it finished.

    The benchmark publishes one event per round and measures from the step's finish (the wall-clock
    time the step function returned, in its output) to the moment the browser shows it.
    """
    for i in range(payload["ticks"]):
        await ctx.step.wait_for_event(f"go-{i}", topic=payload["topic"])
        await ctx.step.run(f"tick-{i}", lambda: time.time())
    return {"ticks": payload["ticks"]}


@workflow(id="ui_trace_child", queue=OTEL_QUEUE)
async def ui_trace_child(ctx: WorkflowContext, payload: dict) -> int:
    return await ctx.step.run("double", lambda: payload["n"] * 2)


@workflow(id="ui_trace_parent", queue=OTEL_QUEUE)
async def ui_trace_parent(ctx: WorkflowContext, payload: dict) -> int:
    """Invokes ``ui_trace_child`` and waits for it: two runs of the parent, one of the child."""
    n = await ctx.step.run("prepare", lambda: payload["n"] + 1)
    return await ctx.step.invoke_and_wait("spawn", ui_trace_child, {"n": n})
