"""Run the basics example: ``python -m examples.basics.main`` (in memory, no services needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from .workflows import OrderIn, place_order


async def main(client: Any) -> dict[str, Any]:
    """Place one order and wait for it, then for the notification child it started."""
    receipt = await place_order.run(client, OrderIn(customer="ada@example.com", items=["book", "lamp"]), timeout=60)
    notification = await client.wait_for_result(receipt.notification_id, timeout=60)
    return {"receipt": receipt, "notification": notification}


if __name__ == "__main__":

    async def offline() -> None:
        runtime = LocalRuntime()
        result = await main(runtime.client)
        print(json.dumps({"receipt": result["receipt"].model_dump(), "notification": result["notification"]}, indent=2))

    asyncio.run(offline())
