"""Multi-agent patterns: a router, experts run in parallel by a coordinator workflow, and a handoff."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from polos import Agent, WorkflowContext, workflow


class Route(BaseModel):
    category: Literal["billing", "technical"]


router = Agent(
    id="agents_router_router",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You route support questions: answer with the category only.",
    output_schema=Route,
)

billing = Agent(
    id="agents_router_billing",
    provider="anthropic",
    model="claude-sonnet-4-5",
    description="Answers questions about invoices, payments and refunds",
    system_prompt="You are the billing expert. Answer in one sentence.",
)

technical = Agent(
    id="agents_router_technical",
    provider="anthropic",
    model="claude-sonnet-4-5",
    description="Answers questions about bugs, outages and the API",
    system_prompt="You are the technical expert. Answer in one sentence.",
)

tone = Agent(
    id="agents_router_tone",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You rate how upset a customer is, from 1 (calm) to 5 (furious). Answer with the number.",
)

frontdesk = Agent(
    id="agents_router_frontdesk",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You greet customers and hand billing questions to the billing expert.",
    handoffs=[billing],
)


class Ticket(BaseModel):
    question: str


@workflow(id="agents_router_support")
async def support(ctx: WorkflowContext, ticket: Ticket) -> dict:
    """Route the ticket, then ask the chosen expert and the tone rater in parallel."""
    route = await ctx.step.agent_invoke_and_wait("route", router.with_input(ticket.question))
    expert = billing if route.result.category == "billing" else technical
    answers = await ctx.step.batch_agent_invoke_and_wait(
        "experts", [expert.with_input(ticket.question), tone.with_input(ticket.question)]
    )
    answer, mood = (item.result for item in answers)
    return {"category": route.result.category, "answer": answer.result, "mood": mood.result}
