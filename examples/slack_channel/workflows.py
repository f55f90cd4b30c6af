"""A refund that waits for an Approve / Reject click in Slack."""

from __future__ import annotations

from typing import Any

from polos import WorkflowContext, workflow


@workflow(id="slack_channel_refund")
async def refund(ctx: WorkflowContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Refund an order once someone approves it (a simple approval: Slack shows the buttons)."""
    amount, order = payload["amount"], payload["order"]
    answer = await ctx.step.suspend(
        "approve-refund",
        {
            "_form": {
                "title": f"Refund {amount:.2f} EUR for order {order}?",
                "description": payload.get("why", ""),
                "fields": [{"key": "approved", "type": "boolean", "label": "Approve"}],
                "context": {"order": order, "amount": amount, "customer": payload.get("customer")},
            },
            "_notify": {
                "message": f"Refund {amount:.2f} EUR?",
                "slack": {"channel": payload.get("channel", "#refunds")},
            },
        },
    )
    if not answer["data"].get("approved"):
        return {"refunded": False, "order": order}
    receipt = await ctx.step.run("refund", lambda: f"refund-{order}")
    return {"refunded": True, "order": order, "receipt": receipt}
