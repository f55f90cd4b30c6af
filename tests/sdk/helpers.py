"""Small helpers shared by the SDK tests."""

from __future__ import annotations

from typing import Any

from polos.testing import LocalRuntime
from polos.types import ExecutionHandle


async def execution(runtime: LocalRuntime, handle: ExecutionHandle | str) -> dict[str, Any]:
    """The execution as ``client.get_execution`` returns it."""
    execution_id = handle if isinstance(handle, str) else handle.id
    return await runtime.client.get_execution(execution_id)


async def status(runtime: LocalRuntime, handle: ExecutionHandle | str) -> str:
    """The execution's status (``queued``, ``running``, ``waiting``, ``completed``, ...)."""
    return (await execution(runtime, handle))["status"]


async def resume(runtime: LocalRuntime, handle: ExecutionHandle, key: str, data: Any = None) -> None:
    """Resume the suspend step ``key`` of ``handle`` and run until nothing is runnable."""
    await runtime.client.resume(handle.root_workflow_id, handle.root_execution_id, key, data)
    await runtime.run_until_idle()


def event_types(runtime: LocalRuntime, handle: ExecutionHandle) -> list[str | None]:
    """The event types on the handle's workflow topic, oldest first."""
    return [e.event_type for e in runtime.store.list_events(handle.topic)]
