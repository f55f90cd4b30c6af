"""Workflows the UI tests run on real worker processes."""

from __future__ import annotations

from polos import WorkflowContext, workflow

XSS_OUTPUT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@workflow(id="ui_live")
async def ui_live(ctx: WorkflowContext, payload: dict) -> dict:
    """One step, a wait for an event on ``payload["topic"]``, then two more steps."""
    await ctx.step.run("first", lambda: "one")
    await ctx.step.wait_for_event("go", topic=payload["topic"])
    await ctx.step.run("second", lambda: {"n": 2})
    html = await ctx.step.run("third", lambda: XSS_OUTPUT)
    return {"done": True, "html": html}
