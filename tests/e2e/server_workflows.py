"""Workflows served by the ``polos server start`` end-to-end tests (via POLOS_WORKFLOW_MODULES)."""

from __future__ import annotations

import os

from polos import WorkflowContext, workflow


def _double(n: int) -> int:
    return n * 2


@workflow(id="e2e_server_double")
async def e2e_server_double(ctx: WorkflowContext, payload: dict) -> dict:
    doubled = await ctx.step.run("double", _double, int(payload["n"]))
    return {"doubled": doubled, "worker_pid": os.getpid()}
