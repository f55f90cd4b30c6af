"""Manage per-user schedules: ``python -m examples.flow_schedules.main`` (needs ``polos server start``).

Schedules are database rows fired by celery beat, so this example runs against the real runtime:
a ``PolosClient`` of a running server here, ``polos_django.client.LocalClient`` in the tests.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos import schedules

from .workflows import reminder

USERS = {"ada": "Europe/London", "grace": "America/New_York", "linus": "Europe/Helsinki"}


async def main(client: Any) -> dict[str, Any]:
    """Give each user a 07:30 reminder in their own timezone; pause one; list them; clean up."""
    ids = {}
    for user, timezone in USERS.items():
        ids[user] = await schedules.create(client, reminder, "30 7 * * *", timezone=timezone, key=f"user-{user}")
    # Creating again with the same key updates the schedule (same id): Ada prefers 08:00.
    assert await schedules.create(client, reminder, "0 8 * * *", timezone="Europe/London", key="user-ada") == ids["ada"]
    await schedules.pause(client, ids["linus"])
    listing = await schedules.list(client, reminder)
    summary = sorted((s["key"], s["cron"], s["timezone"], s["paused"], s["next_occurrence"]) for s in listing)
    for schedule_id in ids.values():
        await schedules.delete(client, schedule_id)
    return {"ids": ids, "schedules": summary, "left": len(await schedules.list(client, reminder))}


if __name__ == "__main__":
    from polos import PolosClient

    async def on_server() -> None:
        print(json.dumps(await main(PolosClient()), indent=2))

    asyncio.run(on_server())
