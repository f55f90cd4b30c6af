"""What the SDK needs from a client object.

Anything with these methods can be passed where the SDK takes ``client``: the HTTP ``PolosClient``,
``polos_django.client.LocalClient`` (in-process, inside a Django project) and
``polos.testing.LocalRuntime.client`` (in memory, for unit tests).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .types import BatchWorkflowInput, ExecutionHandle


@runtime_checkable
class ClientLike(Protocol):
    """The client protocol (see module docstring)."""

    async def invoke(
        self,
        workflow_id: str,
        payload: Any = None,
        queue_name: str | None = None,
        queue_concurrency_limit: int | None = None,
        concurrency_key: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        initial_state: Any = None,
        run_timeout_seconds: int | None = None,
    ) -> ExecutionHandle: ...

    async def batch_invoke(
        self, workflows: list[BatchWorkflowInput], session_id: str | None = None, user_id: str | None = None
    ) -> list[ExecutionHandle]: ...

    async def resume(
        self, suspend_workflow_id: str, suspend_execution_id: str, suspend_step_key: str, data: Any
    ) -> None: ...

    async def get_execution(self, execution_id: str) -> dict[str, Any]: ...

    async def cancel_execution(self, execution_id: str) -> bool: ...

    async def wait_for_result(self, execution_id: str, timeout: float | None = 600.0) -> Any: ...


def __getattr__(name: str) -> Any:
    # ``from polos.client import PolosClient`` (the HTTP client lives in polos.http_client).
    if name == "PolosClient":
        from .http_client import PolosClient

        return PolosClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
