"""Workflows of the approvals tests (imported by the test worker through ``WORKFLOW_MODULES``)."""

from __future__ import annotations

from typing import Any

from polos import WorkflowContext, workflow

EVERY_FIELD_FORM: dict[str, Any] = {
    "title": "Deploy <b>v2</b> to production?",
    "description": "The agent wants to run a deploy.\nCheck the command and the diff.",
    "fields": [
        {"key": "approved", "type": "boolean", "label": "Approve", "required": True},
        {"key": "reason", "type": "text", "label": "Reason <script>window.pwned=1</script>", "required": True},
        {"key": "notes", "type": "textarea", "label": "Notes", "description": "Anything the agent should know."},
        {"key": "replicas", "type": "number", "label": "Replicas", "default": 3, "required": True},
        {"key": "notify_team", "type": "boolean", "label": "Tell the team", "default": True},
        {
            "key": "region",
            "type": "select",
            "label": "Region",
            "required": True,
            "default": "eu",
            "options": [{"label": "Europe", "value": "eu"}, {"label": "United States", "value": "us"}],
        },
    ],
    "context": {
        "command": "kubectl rollout restart deploy/web && echo '<img src=x onerror=alert(1)>'",
        "diff": "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n-print('old')\n+print('<script>alert(1)</script>')\n",
        "tool_output": "<script>window.pwned=2</script>",
        "cwd": "/srv/app",
    },
}


@workflow(id="approvals_form")
async def approvals_form(ctx: WorkflowContext, payload: dict) -> dict:
    form = dict(payload.get("form") or EVERY_FIELD_FORM)
    decision = await ctx.step.suspend(
        "review", {"_form": form, "_source": "tool_approval", "_tool": "deploy"}, timeout=payload.get("timeout")
    )
    return {"answer": decision["data"]}


@workflow(id="approvals_simple")
async def approvals_simple(ctx: WorkflowContext, payload: dict) -> dict:
    decision = await ctx.step.suspend("approve", {"amount": payload.get("amount", 5), **payload.get("extra", {})})
    return {"answer": decision["data"]}


@workflow(id="approvals_echo")
async def approvals_echo(ctx: WorkflowContext, payload: dict) -> dict:
    return {"result": f"you said: {payload.get('input')}"}
