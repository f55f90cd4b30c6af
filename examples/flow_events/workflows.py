"""Workflows started by events: one per order, one per batch of three clicks."""

from __future__ import annotations

from polos import BatchEventPayload, WorkflowContext, workflow

ORDERS = "flow-events-orders"
CLICKS = "flow-events-clicks"
RESULTS = "flow-events-results"  # where the triggered workflows report, so main() can read it


@workflow(id="flow_events_on_order", trigger_on_event=ORDERS)
async def on_order(ctx: WorkflowContext, payload: BatchEventPayload) -> str:
    [event] = payload.events  # batch_size=1: one event per execution
    order = event.data
    await ctx.step.publish_event(
        "handled", RESULTS, {"run": order["run"], "order": order["id"], "total": order["total"]}, event_type="order"
    )
    return f"order {order['id']} handled"


@workflow(id="flow_events_count_clicks", trigger_on_event=CLICKS, batch_size=3, batch_timeout_seconds=2)
async def count_clicks(ctx: WorkflowContext, payload: BatchEventPayload) -> int:
    pages = [event.data["page"] for event in payload.events]
    await ctx.step.publish_event(
        "counted", RESULTS, {"run": payload.events[0].data["run"], "pages": pages}, event_type="clicks"
    )
    return len(pages)
