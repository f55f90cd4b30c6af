"""Run the state example: ``python -m examples.state.main`` (in memory, no services needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from ..support import wait_for_status
from .workflows import import_contacts


async def main(client: Any) -> dict[str, Any]:
    """Start an import, read its state while it is paused, let it finish, read the state again."""
    handle = await import_contacts.invoke(
        client,
        {"batches": ["batch-1", "batch-2", "batch-3"], "pause_after": 2},
        initial_state={"source": "crm-export"},
    )
    paused = await wait_for_status(client, handle.id, "waiting")
    await client.resume(handle.root_workflow_id, handle.root_execution_id, "checkpoint", {"continue": True})
    result = await client.wait_for_result(handle.id, timeout=60)
    finished = await client.get_execution(handle.id)
    return {"state_while_paused": paused["state"], "result": result, "final_state": finished["state"]}


if __name__ == "__main__":

    async def offline() -> None:
        runtime = LocalRuntime()
        print(json.dumps(await main(runtime.client), indent=2))

    asyncio.run(offline())
