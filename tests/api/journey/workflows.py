"""The canonical journey's workflow: a draft, then a human approval (no LLM needed)."""

from __future__ import annotations

from polos import WorkflowContext, workflow


@workflow(id="journey_review")
async def review(ctx: WorkflowContext, payload: dict) -> dict:
    draft = await ctx.step.run("draft", lambda: f"draft of {payload['topic']}")
    decision = await ctx.step.suspend("approve", {"_form": {"title": "Publish?", "context": {"draft": draft}}})
    return {"published": decision["data"].get("approved", False), "draft": draft}
