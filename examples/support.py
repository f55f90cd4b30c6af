"""Small helpers the example drivers share: waiting for a status and resuming a suspend.

They use only the client methods every client has (``get_execution``, ``resume``), so each example's
``main(client)`` runs unchanged in memory (``polos.testing.LocalRuntime``) and against a real worker
(``polos_django.client.LocalClient``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from polos import ExecutionHandle, NotResumableError

POLL_SECONDS = 0.02


async def wait_for_status(client: Any, execution_id: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``client.get_execution`` until the execution's status is one of ``statuses``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        execution = await client.get_execution(execution_id)
        if execution["status"] in statuses:
            return execution
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_id} is {execution['status']!r}, not {statuses} after {timeout} s")
        await asyncio.sleep(POLL_SECONDS)


async def resume_when_waiting(
    client: Any, handle: ExecutionHandle, step_key: str, data: dict[str, Any], timeout: float = 60.0
) -> None:
    """Resume the suspend step ``step_key`` in ``handle``'s tree as soon as something waits on it.

    A workflow that is ``waiting`` may be waiting on something else first (a child workflow that has
    not reached its own suspend yet, an earlier form): resuming then raises ``NotResumableError``, and
    we try again shortly.
    """
    deadline = time.monotonic() + timeout
    while True:
        await wait_for_status(client, handle.id, "waiting", timeout=max(0.0, deadline - time.monotonic()))
        try:
            await client.resume(handle.root_workflow_id, handle.root_execution_id, step_key, data)
            return
        except NotResumableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(POLL_SECONDS)
