"""Workflows of the OpenTelemetry worker test, imported only by the traced worker and the test.

Not in ``POLOS["WORKFLOW_MODULES"]``: a worker started without ``-Q`` consumes the declared queues of
every workflow it knows, so the shared (untraced) worker would race the traced one for these.
"""

from __future__ import annotations

import os

from polos import WorkflowContext, workflow

# A queue of this test session alone.
OTEL_QUEUE = f"{os.environ.get('POLOS_TEST_QUEUE', 'polos-test')}-otel"


@workflow(id="ui_trace_child", queue=OTEL_QUEUE)
async def ui_trace_child(ctx: WorkflowContext, payload: dict) -> int:
    return await ctx.step.run("double", lambda: payload["n"] * 2)


@workflow(id="ui_trace_parent", queue=OTEL_QUEUE)
async def ui_trace_parent(ctx: WorkflowContext, payload: dict) -> int:
    """Invokes ``ui_trace_child`` and waits for it: two runs of the parent, one of the child."""
    n = await ctx.step.run("prepare", lambda: payload["n"] + 1)
    return await ctx.step.invoke_and_wait("spawn", ui_trace_child, {"n": n})
