"""Run the event-trigger example: ``python -m examples.flow_events.main`` (in memory, no services needed)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from polos.features import events
from polos.testing import LocalRuntime
from polos.types import EventData

from .workflows import CLICKS, ORDERS, RESULTS


async def main(client: Any) -> dict[str, Any]:
    """Publish three orders and six clicks; collect what the triggered workflows reported."""
    run = uuid.uuid4().hex[:8]  # this run's events only (the topics may hold earlier runs')
    for n, total in enumerate([12.5, 40.0, 7.25]):
        await events.publish(
            client, ORDERS, EventData(event_type="created", data={"run": run, "id": n, "total": total})
        )
    clicks = [EventData(event_type="click", data={"run": run, "page": f"/p/{n}"}) for n in range(6)]
    await events.batch_publish(client, CLICKS, clicks)  # one transaction: two batches of three

    orders: list[Any] = []
    batches: list[Any] = []
    after = 0
    deadline = time.monotonic() + 60
    while (len(orders) < 3 or len(batches) < 2) and time.monotonic() < deadline:
        page = await client.list_events(RESULTS, after=after)
        for event in page["events"]:
            if event["data"]["run"] == run:
                (orders if event["event_type"] == "order" else batches).append(event["data"])
        after = page["next_after"]
        await asyncio.sleep(0.05)
    return {
        "orders": sorted((o["order"], o["total"]) for o in orders),
        "click_batches": sorted(b["pages"] for b in batches),
    }


if __name__ == "__main__":

    async def offline() -> None:
        print(json.dumps(await main(LocalRuntime().client), indent=2))

    asyncio.run(offline())
