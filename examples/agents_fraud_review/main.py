"""Order processing with a human fraud review: ``python -m examples.agents_fraud_review.main``."""

from __future__ import annotations

import json
from typing import Any

from polos.testing import RecordedRequest

from ..agents_offline import run_example
from ..support import resume_when_waiting, wait_for_status
from .agents import Order, process_order


def SCRIPT(request: RecordedRequest) -> str:
    """Offline: orders shipped abroad look risky; confirmations are one sentence."""
    if "fraud risk" in request.system:
        order = json.loads(request.last_user_text)
        if order["shipping_country"] != order["country"]:
            return '{"score": 0.82, "reasons": ["shipping country differs from billing country"]}'
        return '{"score": 0.05, "reasons": []}'
    return "Your order is confirmed and on its way."


async def main(client: Any) -> dict[str, Any]:
    safe = Order(order_id="o-1", customer="ada", amount=40.0, country="FR", shipping_country="FR")
    risky = Order(order_id="o-2", customer="bob", amount=2400.0, country="FR", shipping_country="BR")

    safe_result = await process_order.run(client, safe, timeout=120)

    handle = await process_order.invoke(client, risky)
    # A person reviews the flagged order (in production: on the approval page, or from the event stream).
    await resume_when_waiting(client, handle, "fraud_review", {"approved": True, "note": "customer confirmed by phone"})
    reviewed = await wait_for_status(client, handle.id, "completed", "failed", timeout=120)
    return {"safe": safe_result, "reviewed": reviewed["result"]}


if __name__ == "__main__":
    run_example(main, SCRIPT)
