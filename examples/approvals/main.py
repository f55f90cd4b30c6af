"""Run the approvals example: ``python -m examples.approvals.main`` (in memory, no services needed).

The driver plays the humans: it waits until a workflow is suspended, then resumes it with the answer
a person would post from the approval page.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from ..support import resume_when_waiting
from .workflows import Expense, document_review, expense_approval, onboarding


async def main(client: Any) -> dict[str, Any]:
    """Run the three human-in-the-loop flows and return their results."""
    # 1. An approval: a small expense goes through; a large one waits for the manager.
    small = await expense_approval.run(client, Expense(employee="bob", amount=42, description="taxi"), timeout=60)
    large = await expense_approval.invoke(client, Expense(employee="bob", amount=900, description="laptop"))
    await resume_when_waiting(client, large, "manager-approval", {"approved": True, "comment": "ok, within budget"})

    # 2. A multi-step form: the first email is invalid, so the profile form is asked again.
    signup = await onboarding.invoke(client, {})
    await resume_when_waiting(client, signup, "profile", {"name": "Ada", "email": "ada-at-example"})
    await resume_when_waiting(client, signup, "profile-1", {"name": "Ada", "email": "ada@example.com"})
    await resume_when_waiting(client, signup, "plan", {"plan": "team", "seats": 3})
    await resume_when_waiting(client, signup, "confirm", {"confirmed": True})

    # 3. Several reviewers in parallel (child workflows); two approvals of three are enough.
    doc = await document_review.invoke(
        client, {"document": "RFC-7: retries", "reviewers": ["alice", "bob", "carol"], "quorum": 2}
    )
    await resume_when_waiting(client, doc, "review-carol", {"approved": False, "comment": "needs a benchmark"})
    await resume_when_waiting(client, doc, "review-alice", {"approved": True})
    await resume_when_waiting(client, doc, "review-bob", {"approved": True, "comment": "LGTM"})

    return {
        "small_expense": small,
        "large_expense": await client.wait_for_result(large.id, timeout=60),
        "onboarding": await client.wait_for_result(signup.id, timeout=60),
        "document": await client.wait_for_result(doc.id, timeout=60),
    }


if __name__ == "__main__":

    async def offline() -> None:
        runtime = LocalRuntime()
        print(json.dumps(await main(runtime.client), indent=2))

    asyncio.run(offline())
