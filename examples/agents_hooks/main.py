"""Lifecycle hooks: ``python -m examples.agents_hooks.main``."""

from __future__ import annotations

from typing import Any

from polos.testing import Reply

from ..agents_offline import run_example
from .agents import inventory_agent

SCRIPT = [Reply(tool_calls=[("agents_hooks_stock", {"sku": "a-100"})]), "We have 12 units of A-100."]


async def main(client: Any) -> dict[str, Any]:
    result = await inventory_agent.run(client, "How many a-100 do we have?", user_id="clerk-7")
    return {"answer": result.result, "tool_result": result.tool_results[0].result}


if __name__ == "__main__":
    run_example(main, SCRIPT)
