"""``Polos``: a client and an in-process worker in one object.

::

    async with Polos() as polos:
        result = await my_workflow.run(polos, {"n": 1})

It serves every workflow registered in this process (agents and tools included) and duck-types
:class:`~polos.PolosClient`, so it goes wherever a client goes.  For production, run
``PolosClient`` and ``Worker`` in separate processes and scale the workers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .http_client import PolosClient
from .types import BatchWorkflowInput, EventData, ExecutionHandle, StreamEvent
from .worker import Worker


class Polos:
    """Client plus worker (see module docstring).

    Args:
        project_id, api_url, api_key, deployment_id: as for :class:`PolosClient`.
        max_concurrent_workflows: as for :class:`Worker`.
        log_file: send this process's logs there instead of the console.
        channels: notification channels called on every suspend this process runs (polos.notifiers).
        port: accepted for compatibility with the Polos SDK (not needed here).
    """

    def __init__(
        self,
        project_id: str | None = None,
        api_url: str | None = None,
        api_key: str | None = None,
        deployment_id: str | None = None,
        port: int | None = None,
        max_concurrent_workflows: int | None = None,
        channels: list[Any] | None = None,
        log_file: str | None = None,
    ) -> None:
        self.client = PolosClient(api_url=api_url, api_key=api_key, project_id=project_id, deployment_id=deployment_id)
        self.worker = Worker(
            self.client,
            max_concurrent_workflows=max_concurrent_workflows,
            deployment_id=deployment_id,
            log_file=log_file,
            channels=channels,
        )
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker in the background; returns once it serves."""
        if not self._started:
            await self.worker.start()
            self._started = True

    async def stop(self) -> None:
        """Stop the worker and close the client."""
        if self._started:
            await self.worker.shutdown()
            self._started = False
        await self.client.aclose()

    async def serve(self) -> None:
        """Serve until cancelled (Ctrl-C): the deployment mode, like ``Worker.run()``."""
        await self.start()
        try:
            await self.worker.run()
        finally:
            await self.stop()

    async def __aenter__(self) -> Polos:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the client interface ------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.client.api_url

    @property
    def api_key(self) -> str:
        return self.client.api_key

    @property
    def project_id(self) -> str | None:
        return self.client.project_id

    @property
    def deployment_id(self) -> str | None:
        return self.client.deployment_id

    def _get_headers(self) -> dict[str, str]:
        return self.client._get_headers()

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
        priority: int = 0,
    ) -> ExecutionHandle:
        return await self.client.invoke(
            workflow_id,
            payload,
            queue_name=queue_name,
            queue_concurrency_limit=queue_concurrency_limit,
            concurrency_key=concurrency_key,
            session_id=session_id,
            user_id=user_id,
            initial_state=initial_state,
            run_timeout_seconds=run_timeout_seconds,
            priority=priority,
        )

    async def invoke_and_wait(
        self, workflow_id: str, payload: Any = None, timeout: float | None = 600.0, **options: Any
    ) -> Any:
        """Start an execution and return its result in one request (see ``PolosClient.invoke_and_wait``)."""
        return await self.client.invoke_and_wait(workflow_id, payload, timeout=timeout, **options)

    async def batch_invoke(
        self,
        workflows: Sequence[BatchWorkflowInput | dict[str, Any]],
        session_id: str | None = None,
        user_id: str | None = None,
    ) -> list[ExecutionHandle]:
        return await self.client.batch_invoke(workflows, session_id=session_id, user_id=user_id)

    async def resume(
        self, suspend_workflow_id: str, suspend_execution_id: str, suspend_step_key: str, data: Any = None
    ) -> None:
        await self.client.resume(suspend_workflow_id, suspend_execution_id, suspend_step_key, data)

    async def get_execution(self, execution_id: str) -> dict[str, Any]:
        return await self.client.get_execution(execution_id)

    async def cancel_execution(self, execution_id: str) -> bool:
        return await self.client.cancel_execution(execution_id)

    async def wait_for_result(self, execution_id: str, timeout: float | None = 600.0) -> Any:
        return await self.client.wait_for_result(execution_id, timeout=timeout)

    async def publish_events(self, topic: str, events: Sequence[EventData | dict[str, Any]]) -> list[int]:
        return await self.client.publish_events(topic, events)

    def stream_events(
        self,
        topic: str | None = None,
        *,
        workflow_id: str | None = None,
        workflow_run_id: str | None = None,
        last_sequence_id: int | None = None,
        last_timestamp: dt.datetime | None = None,
    ) -> AsyncIterator[StreamEvent]:
        return self.client.stream_events(
            topic,
            workflow_id=workflow_id,
            workflow_run_id=workflow_run_id,
            last_sequence_id=last_sequence_id,
            last_timestamp=last_timestamp,
        )
