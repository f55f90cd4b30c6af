"""Guardrails: ``python -m examples.agents_guardrails.main``."""

from __future__ import annotations

import json
from typing import Any

from polos.testing import RecordedRequest

from ..agents_offline import run_example
from .agents import support_agent


def SCRIPT(request: RecordedRequest) -> str:
    """Offline: the rule checker always passes; the support agent over-promises until told not to."""
    if "check an AI assistant's reply" in request.system:
        return json.dumps({"passed": True, "reason": ""})
    if "Your previous reply was rejected" in request.last_user_text:
        return "A colleague will review your refund request; we will write to ada@example.com within a day."
    return "We guarantee a full refund today!"


async def main(client: Any) -> dict[str, Any]:
    result = await support_agent.run(client, "My parcel never arrived. I want my money back.")
    return {"answer": result.result, "llm_calls_in_usage": result.usage.output_tokens > 0}


if __name__ == "__main__":
    run_example(main, SCRIPT)
