"""Run the error-handling example: ``python -m examples.errors.main`` (in memory, no services needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos import ExecutionFailedError
from polos.testing import LocalRuntime

from .workflows import book_trip, convert, flaky_report


async def main(client: Any) -> dict[str, Any]:
    """Run each pattern once; the last run fails on purpose and reports how the caller sees it."""
    retried = await flaky_report.run(client, {"failures": 2}, timeout=60)
    fallback = await convert.run(client, {"amount": 100, "currency": "EUR"}, timeout=60)
    booked = await book_trip.run(client, {"city": "Lisbon", "amount": 400, "card_limit": 1000}, timeout=60)
    rolled_back = await book_trip.run(client, {"city": "Oslo", "amount": 4000, "card_limit": 1000}, timeout=60)

    failing = await book_trip.invoke(
        client, {"city": "Rome", "amount": 4000, "card_limit": 1000, "fail_after_compensation": True}
    )
    try:
        await client.wait_for_result(failing.id, timeout=60)
        failed: dict[str, Any] = {"status": "completed?!"}
    except ExecutionFailedError as exc:
        execution = await client.get_execution(failing.id)
        failed = {
            "raised": type(exc).__name__,
            "status": execution["status"],
            "error_type": execution["error_type"],
            "error": execution["error"],
        }
    return {"retry": retried, "fallback": fallback, "booked": booked, "rolled_back": rolled_back, "failed": failed}


if __name__ == "__main__":

    async def offline() -> None:
        runtime = LocalRuntime()
        print(json.dumps(await main(runtime.client), indent=2))

    asyncio.run(offline())
