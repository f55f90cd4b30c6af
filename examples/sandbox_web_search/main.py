"""Run the web search example: ``python -m examples.sandbox_web_search.main`` (in memory)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from .workflows import sandbox_web_search_researcher


async def main(client: Any) -> dict[str, Any]:
    result = await sandbox_web_search_researcher.run(client, "How do Polos agents run commands safely?")
    return {"search": result.tool_results[0].result, "answer": result.result}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(LocalRuntime().client)), indent=2))
