"""Run the shared-queue example: ``python -m examples.flow_queues.main`` (in memory, no services needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from .workflows import report


def peak_overlap(runs: list[dict[str, Any]]) -> int:
    """The most runs in progress at the same time (from their recorded start and finish times)."""
    edges = sorted([(r["started"], 1) for r in runs] + [(r["finished"], -1) for r in runs])
    peak = current = 0
    for _, change in edges:
        current += change
        peak = max(peak, current)
    return peak


async def main(client: Any) -> dict[str, Any]:
    """Acme asks for six reports (one urgent), Globex for two; each tenant is its own lane."""
    handles = []
    for n in range(5):
        handles.append(await report.invoke(client, {"tenant": "acme", "name": f"acme-{n}"}, concurrency_key="acme"))
    for n in range(2):
        payload = {"tenant": "globex", "name": f"globex-{n}"}
        handles.append(await report.invoke(client, payload, concurrency_key="globex"))
    # Higher priority runs first within its lane (FIFO within a priority).
    urgent = {"tenant": "acme", "name": "acme-urgent"}
    handles.append(await report.invoke(client, urgent, concurrency_key="acme", priority=10))

    results = [await client.wait_for_result(h.id, timeout=120) for h in handles]
    acme = [r for r in results if r["tenant"] == "acme"]
    globex = [r for r in results if r["tenant"] == "globex"]
    acme_order = [r["document"] for r in sorted(acme, key=lambda r: (r["started"], r["document"]))]
    return {
        "documents": sorted(r["document"] for r in results),
        "peak": {"acme": peak_overlap(acme), "globex": peak_overlap(globex)},
        "urgent_rank": acme_order.index("acme-urgent.pdf") + 1,  # 1 = the first acme report to start
    }


if __name__ == "__main__":

    async def offline() -> None:
        print(json.dumps(await main(LocalRuntime().client), indent=2))

    asyncio.run(offline())
