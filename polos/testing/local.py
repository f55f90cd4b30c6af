"""Run workflows in memory, in the current event loop: no database, no broker.

    runtime = LocalRuntime()
    result = await my_workflow.run(runtime.client, {"x": 1})

Waits work as in production: a suspend stays waiting until ``runtime.client.resume(...)``; a durable
timer fires when :meth:`LocalRuntime.advance` moves the clock past it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from ..exceptions import ExecutionNotFoundError, WorkflowTimeoutError
from ..invocation import execution_dict, handle_for, new_execution, result_of
from ..memory_store import MemoryStore
from ..runtime import RuntimeSettings, run_execution
from ..store import FINISHED_STATUSES, NewEvent, ResumeRequest, utcnow
from ..types import BatchWorkflowInput, ExecutionHandle


class LocalRuntime:
    """An in-memory store plus a runner that executes ready executions as asyncio tasks."""

    def __init__(self, settings: RuntimeSettings | None = None) -> None:
        self.settings = settings or RuntimeSettings(heartbeat_seconds=3600)
        self.store = MemoryStore(on_ready=self._on_ready)
        self.client = LocalRuntimeClient(self)
        self.outcomes: list[tuple[str, str]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._clock_offset = dt.timedelta()

    def _on_ready(self, execution_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(execution_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, execution_id: str) -> None:
        await asyncio.sleep(0)  # let the caller that rang the doorbell finish first
        outcome = await run_execution(self.store, execution_id, owner="local", settings=self.settings)
        self.outcomes.append((execution_id, outcome))
        self._changed.set()

    async def run_until_idle(self) -> None:
        """Wait until no execution is runnable (everything finished or waiting)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def advance(self, **delta: float) -> None:
        """Move the clock forward (``advance(days=1)``): fires timers and expires waits that came due."""
        self._clock_offset += dt.timedelta(**delta)
        self.store.reap(now=utcnow() + self._clock_offset)
        await self.run_until_idle()

    async def wait_finished(self, execution_id: str, timeout: float | None = 60.0) -> None:
        async def wait() -> None:
            while True:
                record = self.store.get_execution(execution_id)
                if record is None:
                    raise ExecutionNotFoundError(f"no execution {execution_id!r}")
                if record.status in FINISHED_STATUSES:
                    return
                self._changed.clear()
                if not self._tasks:
                    await self.run_until_idle()
                    record = self.store.get_execution(execution_id)
                    if record is not None and record.status not in FINISHED_STATUSES and not self._tasks:
                        await self._changed.wait()
                else:
                    await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise WorkflowTimeoutError(f"execution {execution_id} did not finish within {timeout} s") from None


class LocalRuntimeClient:
    """The client of a :class:`LocalRuntime` (same methods as ``PolosClient``)."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime
        self.project_id = "default"

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
        request = new_execution(
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
        [record] = self._runtime.store.create_executions([request])
        return handle_for(record)

    async def batch_invoke(
        self, workflows: list[BatchWorkflowInput], session_id: str | None = None, user_id: str | None = None
    ) -> list[ExecutionHandle]:
        requests = [
            new_execution(
                w.id,
                w.payload,
                session_id=session_id,
                user_id=user_id,
                initial_state=w.initial_state,
                run_timeout_seconds=w.run_timeout_seconds,
            )
            for w in workflows
        ]
        return [handle_for(r) for r in self._runtime.store.create_executions(requests)]

    async def resume(
        self, suspend_workflow_id: str, suspend_execution_id: str, suspend_step_key: str, data: Any
    ) -> None:
        self._runtime.store.resume(ResumeRequest(suspend_execution_id, suspend_step_key, data))

    async def get_execution(self, execution_id: str) -> dict[str, Any]:
        record = self._runtime.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFoundError(f"no execution {execution_id!r}")
        return execution_dict(record)

    async def cancel_execution(self, execution_id: str) -> bool:
        return self._runtime.store.cancel(execution_id)

    async def publish(self, topic: str, event_type: str | None, data: Any = None) -> int:
        [event] = self._runtime.store.publish_events(topic, [NewEvent(event_type, data)])
        return event.sequence_id

    async def list_events(self, topic: str, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the events on ``topic`` after the sequence id ``after`` (as ``PolosClient``'s)."""
        events = self._runtime.store.list_events(topic, after, limit + 1)
        page = events[:limit]
        next_after = page[-1].sequence_id if page else after
        items = [{**e.as_payload(), "execution_id": e.execution_id} for e in page]
        return {"events": items, "next_after": next_after, "has_more": len(events) > limit}

    async def publish_events(self, topic: str, events: list[Any]) -> list[int]:
        """Publish events on a topic (``polos.events.publish`` / ``batch_publish``)."""
        from ..types import EventData

        items = [e if isinstance(e, EventData) else EventData.model_validate(e) for e in events]
        written = self._runtime.store.publish_events(topic, [NewEvent(e.event_type, e.data) for e in items])
        return [e.sequence_id for e in written]

    async def wait_for_result(self, execution_id: str, timeout: float | None = 600.0) -> Any:
        await self._runtime.wait_finished(execution_id, timeout)
        record = self._runtime.store.get_execution(execution_id)
        assert record is not None
        return result_of(record)
