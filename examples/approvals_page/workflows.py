"""A deploy that waits for a person on the approval page (every field type, a command and a diff)."""

from __future__ import annotations

from typing import Any

from polos import WorkflowContext, workflow


def plan_deploy(service: str, version: str) -> dict[str, Any]:
    return {
        "command": f"kubectl set image deploy/{service} {service}=registry.example.com/{service}:{version}",
        "diff": f"--- a/deploy/{service}.yaml\n+++ b/deploy/{service}.yaml\n@@ -12 +12 @@\n"
        f"-        image: registry.example.com/{service}:previous\n"
        f"+        image: registry.example.com/{service}:{version}\n",
    }


@workflow(id="approvals_page_deploy")
async def deploy(ctx: WorkflowContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Plan a deploy, ask a person on the approval page, then deploy (or not) as they said."""
    service, version = payload["service"], payload["version"]
    plan = await ctx.step.run("plan", plan_deploy, service, version)
    answer = await ctx.step.suspend(
        "approve-deploy",
        {
            "_form": {
                "title": f"Deploy {service} {version} to production?",
                "description": "Check the command and the manifest change, then approve or reject.",
                "fields": [
                    {"key": "approved", "type": "boolean", "label": "Approve"},
                    {"key": "reason", "type": "text", "label": "Reason", "required": True},
                    {"key": "notes", "type": "textarea", "label": "Notes for the on-call"},
                    {"key": "replicas", "type": "number", "label": "Replicas", "default": 3, "required": True},
                    {"key": "canary", "type": "boolean", "label": "Start with a canary", "default": True},
                    {
                        "key": "window",
                        "type": "select",
                        "label": "When",
                        "required": True,
                        "default": "now",
                        "options": [
                            {"label": "Now", "value": "now"},
                            {"label": "Tonight (22:00 UTC)", "value": "night"},
                        ],
                    },
                ],
                "context": plan,
            },
            "_notify": {"message": f"Deploy {service} {version}?"},
        },
        timeout=payload.get("timeout_seconds", 3600),
    )
    decision = answer["data"]
    if not decision.get("approved"):
        return {"deployed": False, "reason": decision.get("reason")}
    steps = ["canary", "rollout"] if decision.get("canary") else ["rollout"]
    for name in steps:
        await ctx.step.run(name, lambda step=name: f"{step} of {service} {version} done")
    return {
        "deployed": True,
        "version": version,
        "replicas": decision["replicas"],
        "window": decision["window"],
        "steps": steps,
        "reason": decision["reason"],
    }
