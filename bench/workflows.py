"""The workflows of the benchmarks (registered through ``POLOS['WORKFLOW_MODULES']``)."""

from __future__ import annotations

from polos import WorkflowContext, workflow


async def async_noop() -> None:
    return None


def sync_noop() -> None:
    return None


@workflow(id="bench_noop")
async def bench_noop(ctx: WorkflowContext, payload: dict) -> int:
    """``payload["steps"]`` no-op async steps keyed ``n0, n1, ...``; returns the number of steps."""
    steps = int(payload.get("steps", 1))
    for i in range(steps):
        await ctx.step.run(f"n{i}", async_noop)
    return steps
