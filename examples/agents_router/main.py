"""Router, coordinator and handoff: ``python -m examples.agents_router.main``."""

from __future__ import annotations

from typing import Any

from polos.testing import RecordedRequest, Reply

from ..agents_offline import run_example
from .agents import Ticket, frontdesk, support


def SCRIPT(request: RecordedRequest) -> Reply | str:
    """Offline answers, chosen by which agent asks (agents run in parallel: order is not fixed)."""
    system = request.system
    if "route support questions" in system:
        return '{"category": "billing"}'
    if "billing expert" in system:
        return "Your refund was issued on Monday and arrives within 5 days."
    if "technical expert" in system:
        return "The outage is fixed."
    if "rate how upset" in system:
        return "4"
    if "greet customers" in system:
        return Reply(text="Let me get our billing expert.", tool_calls=[("transfer_to_agents_router_billing", {})])
    return "?"


async def main(client: Any) -> dict[str, Any]:
    question = "I was charged twice and nobody answers my e-mails!"
    coordinated = await support.run(client, Ticket(question=question), timeout=120)
    handed = await frontdesk.run(client, "Hello! Where is my refund?")
    return {"coordinator": coordinated, "handoff": handed.result}


if __name__ == "__main__":
    run_example(main, SCRIPT)
