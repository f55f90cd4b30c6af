"""Run the fan-out / fan-in example: ``python -m examples.parallel.main`` (in memory, no services needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from .workflows import report

URLS = [f"https://example.com/{name}" for name in "abcd"]


async def main(client: Any) -> dict[str, Any]:
    """Summarize four pages in parallel (one of them fails) and return the report."""
    return await report.run(client, {"urls": URLS}, timeout=60)


if __name__ == "__main__":

    async def offline() -> None:
        runtime = LocalRuntime()
        print(json.dumps(await main(runtime.client), indent=2))

    asyncio.run(offline())
