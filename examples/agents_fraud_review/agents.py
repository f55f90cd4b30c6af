"""Order processing with a human fraud review: an agent scores the risk, a person decides."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from polos import Agent, WorkflowContext, workflow


class Order(BaseModel):
    order_id: str
    customer: str
    amount: float
    country: str
    shipping_country: str


class Risk(BaseModel):
    score: float = Field(ge=0, le=1)
    reasons: list[str]


fraud_agent = Agent(
    id="agents_fraud_review_scorer",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You assess the fraud risk of e-commerce orders, from 0 (safe) to 1 (fraud).",
    output_schema=Risk,
)

writer = Agent(
    id="agents_fraud_review_writer",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You write one-sentence order confirmations.",
)

REVIEW_THRESHOLD = 0.5


def charge(order: Order) -> str:
    # A real implementation calls the payment provider (once: the step's result is recorded).
    return f"ch_{order.order_id}"


@workflow(id="agents_fraud_review_order")
async def process_order(ctx: WorkflowContext, order: Order) -> dict:
    risk_run = await ctx.step.agent_invoke_and_wait("assess", fraud_agent.with_input(order.model_dump_json()))
    risk: Risk = risk_run.result
    reviewer = None
    if risk.score >= REVIEW_THRESHOLD:
        answer = await ctx.step.suspend(
            "fraud_review",
            {
                "_form": {
                    "title": f"Review order {order.order_id} ({order.amount:.2f})",
                    "description": "The fraud model flagged this order. Approve to charge and ship it.",
                    "fields": [
                        {"key": "approved", "type": "boolean", "label": "Approve the order", "required": True},
                        {"key": "note", "type": "textarea", "label": "Note"},
                    ],
                    "context": {"order": order.model_dump(), "score": risk.score, "reasons": risk.reasons},
                },
                "_source": "fraud_review",
            },
        )
        reviewer = answer["data"]
        if not reviewer.get("approved"):
            return {"status": "rejected", "score": risk.score, "note": reviewer.get("note")}
    charge_id = await ctx.step.run("charge", charge, order)
    note = await ctx.step.agent_invoke_and_wait(
        "confirm", writer.with_input(json.dumps({"order": order.model_dump(), "charge": charge_id}))
    )
    return {
        "status": "charged",
        "charge_id": charge_id,
        "score": risk.score,
        "reviewed": reviewer is not None,
        "confirmation": note.result,
    }
