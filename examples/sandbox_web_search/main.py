"""Run the web search example: ``python -m examples.sandbox_web_search.main`` (in memory)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime


async def main(runtime: LocalRuntime | None = None) -> dict[str, Any]:
    from .agents import research_agent

    runtime = runtime or LocalRuntime()
    result = await research_agent().run(runtime.client, "How do Polos agents run commands safely?")
    return {"search": result.tool_results[0].result, "answer": result.result}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
