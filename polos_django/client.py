"""In-process access to the runtime for Django code: no HTTP, no API key.

Async (duck-types ``PolosClient``, so ``await my_workflow.run(LocalClient(), payload)`` works)::

    from polos_django.client import LocalClient
    handle = await LocalClient().invoke("send_invoice", {"order": 42})

Sync (views, management commands, signals)::

    from polos_django import client
    handle = client.invoke("send_invoice", {"order": 42})
    client.resume(handle.root_workflow_id, handle.id, "approve", {"approved": True})
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from asgiref.sync import sync_to_async

from polos.exceptions import ExecutionNotFoundError, WorkflowTimeoutError
from polos.invocation import execution_dict, handle_for, new_execution, result_of
from polos.store import FINISHED_STATUSES, NewEvent, ResumeRequest
from polos.types import BatchWorkflowInput, EventData, ExecutionHandle

from . import live
from .store import get_store


def invoke(
    workflow_id: str,
    payload: Any = None,
    queue_name: str | None = None,
    queue_concurrency_limit: int | None = None,
    concurrency_key: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    initial_state: Any = None,
    run_timeout_seconds: float | None = None,
    *,
    project_id: str = "default",
    priority: int = 0,
) -> ExecutionHandle:
    """Start a registered workflow; the Celery message is sent when the current transaction commits.

    ``priority`` orders executions within their (queue, concurrency key) lane: higher first.
    """
    request = new_execution(
        workflow_id,
        payload,
        project_id=project_id,
        queue_name=queue_name,
        queue_concurrency_limit=queue_concurrency_limit,
        concurrency_key=concurrency_key,
        session_id=session_id,
        user_id=user_id,
        initial_state=initial_state,
        run_timeout_seconds=run_timeout_seconds,
        priority=priority,
    )
    [record] = get_store().create_executions([request])
    return handle_for(record)


def batch_invoke(
    workflows: list[BatchWorkflowInput],
    session_id: str | None = None,
    user_id: str | None = None,
    *,
    project_id: str = "default",
) -> list[ExecutionHandle]:
    """Start several workflows in one transaction."""
    requests = []
    for item in workflows:
        spec = item if isinstance(item, BatchWorkflowInput) else BatchWorkflowInput.model_validate(item)
        requests.append(
            new_execution(
                spec.id,
                spec.payload,
                project_id=project_id,
                session_id=session_id,
                user_id=user_id,
                initial_state=spec.initial_state,
                run_timeout_seconds=spec.run_timeout_seconds,
            )
        )
    return [handle_for(r) for r in get_store().create_executions(requests)]


def resume(
    suspend_workflow_id: str,
    suspend_execution_id: str,
    suspend_step_key: str,
    data: Any = None,
    *,
    project_id: str | None = None,
) -> int:
    """Resume a suspended step; returns the sequence id of the ``resume_{key}`` event.

    Raises:
        NotResumableError: nothing in that execution waits on ``suspend_step_key``.
    """
    event = get_store().resume(ResumeRequest(suspend_execution_id, suspend_step_key, data), project_id)
    return event.sequence_id


def get_execution(execution_id: str, *, project_id: str | None = None) -> dict[str, Any]:
    """The execution as a dict (status, result, error, ...); raises ``ExecutionNotFoundError``."""
    record = get_store().get_execution(execution_id, project_id)
    if record is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}")
    return execution_dict(record)


def cancel(execution_id: str, *, project_id: str | None = None) -> bool:
    """Cancel an execution and its children; ``False`` if it had already finished."""
    return get_store().cancel(execution_id, project_id)


def publish(topic: str, event: EventData | dict[str, Any], *, project_id: str = "default") -> int:
    """Publish one event on a topic; returns its sequence id."""
    data = event if isinstance(event, EventData) else EventData.model_validate(event)
    [record] = get_store().publish_events(topic, [NewEvent(data.event_type, data.data)], project_id)
    return record.sequence_id


def wait_for_result(execution_id: str, timeout: float | None = 600.0, *, project_id: str | None = None) -> Any:
    """Block until the execution finishes and return its result (sync version of the async method)."""
    store = get_store()
    deadline = None if timeout is None else time.monotonic() + timeout
    redis_client = live.redis_client()
    pubsub = None
    if redis_client is not None:
        pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(live.done_channel(execution_id))
    delay = 0.002
    try:
        while True:
            record = store.get_execution(execution_id, project_id)
            if record is None:
                raise ExecutionNotFoundError(f"no execution {execution_id!r}")
            if record.status in FINISHED_STATUSES:
                return result_of(record)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WorkflowTimeoutError(
                    f"execution {execution_id} did not finish in time; it keeps running (status {record.status})"
                )
            if pubsub is not None:
                pubsub.get_message(timeout=5.0 if remaining is None else min(5.0, remaining))
            else:
                time.sleep(delay if remaining is None else min(delay, remaining))
                delay = min(delay * 2, 0.25)
    finally:
        if pubsub is not None:
            pubsub.close()


class LocalClient:
    """The in-process client: the methods of ``PolosClient`` without HTTP (see module docstring)."""

    def __init__(self, project_id: str = "default") -> None:
        self.project_id = project_id

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
        return await sync_to_async(invoke)(
            workflow_id,
            payload,
            queue_name,
            queue_concurrency_limit,
            concurrency_key,
            session_id,
            user_id,
            initial_state,
            run_timeout_seconds,
            project_id=self.project_id,
            priority=priority,
        )

    async def batch_invoke(
        self, workflows: list[BatchWorkflowInput], session_id: str | None = None, user_id: str | None = None
    ) -> list[ExecutionHandle]:
        return await sync_to_async(batch_invoke)(workflows, session_id, user_id, project_id=self.project_id)

    async def resume(
        self, suspend_workflow_id: str, suspend_execution_id: str, suspend_step_key: str, data: Any
    ) -> None:
        await sync_to_async(resume)(
            suspend_workflow_id, suspend_execution_id, suspend_step_key, data, project_id=self.project_id
        )

    async def get_execution(self, execution_id: str) -> dict[str, Any]:
        return await sync_to_async(get_execution)(execution_id, project_id=self.project_id)

    async def cancel_execution(self, execution_id: str) -> bool:
        try:
            return await sync_to_async(cancel)(execution_id, project_id=self.project_id)
        except ExecutionNotFoundError:
            return False

    async def publish_events(self, topic: str, events: list[EventData | dict[str, Any]]) -> list[int]:
        """Publish events on a topic in one transaction (``polos.events.publish`` / ``batch_publish``)."""
        items = [e if isinstance(e, EventData) else EventData.model_validate(e) for e in events]
        records = await sync_to_async(get_store().publish_events)(
            topic, [NewEvent(e.event_type, e.data) for e in items], self.project_id
        )
        return [r.sequence_id for r in records]

    async def list_events(self, topic: str, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the project's events on ``topic`` after the sequence id ``after`` (as the API's)."""
        from .api.streams import event_dict, fetch_events

        events = await sync_to_async(fetch_events)(topic, self.project_id, after, None, limit + 1)
        page = events[:limit]
        next_after = page[-1].sequence_id if page else after
        return {"events": [event_dict(e) for e in page], "next_after": next_after, "has_more": len(events) > limit}

    # --- schedules (``polos.schedules``) -------------------------------------------------------

    async def create_schedule(
        self, workflow_id: str, cron: str, timezone: str = "UTC", key: str = "global", missed_policy: str = "run_once"
    ) -> str:
        from . import schedules

        schedule = await sync_to_async(schedules.create)(
            workflow_id, cron, timezone, key, project_id=self.project_id, missed_policy=missed_policy
        )
        return str(schedule.id)

    async def list_schedules(self, workflow_id: str | None = None) -> list[dict[str, Any]]:
        from . import schedules

        items = await sync_to_async(schedules.list_schedules)(self.project_id, workflow_id)
        return [schedules.as_dict(item) for item in items]

    async def pause_schedule(self, schedule_id: str) -> None:
        from . import schedules

        await sync_to_async(schedules.set_paused)(schedule_id, True, project_id=self.project_id)

    async def resume_schedule(self, schedule_id: str) -> None:
        from . import schedules

        await sync_to_async(schedules.set_paused)(schedule_id, False, project_id=self.project_id)

    async def delete_schedule(self, schedule_id: str) -> None:
        from . import schedules

        await sync_to_async(schedules.delete)(schedule_id, project_id=self.project_id)

    async def wait_for_result(self, execution_id: str, timeout: float | None = 600.0) -> Any:
        """Wait (pushed over Redis, no polling interval) until the execution finishes; return its result.

        ``timeout`` is the caller's: it raises ``WorkflowTimeoutError`` and leaves the execution running.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        record = await wait_finished(execution_id, self.project_id, deadline)
        return result_of(record)


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def _async_redis(url: str) -> Any:
    """One asyncio Redis client (and connection pool) per event loop, shared by all waiters."""
    import redis.asyncio as aioredis

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = aioredis.Redis.from_url(url)
    return client


async def wait_finished(execution_id: str, project_id: str | None, deadline: float | None) -> Any:
    """Wait until the execution finished and return its record (pushed over Redis; re-read every 5 s).

    Raises:
        ExecutionNotFoundError: no such execution (in ``project_id``).
        WorkflowTimeoutError: ``deadline`` (a ``time.monotonic()`` value) passed first.
    """
    store = get_store()
    get = sync_to_async(store.get_execution)
    url = live.redis_client() and live.polos_settings.REDIS_URL
    if url:
        pubsub = _async_redis(url).pubsub()
        try:
            await pubsub.subscribe(live.done_channel(execution_id))
            # Wait for the confirmation: from then on a finish is pushed to us, so the database read
            # below cannot miss one committed in between.
            await pubsub.get_message(timeout=1.0)
            while True:
                # Subscribed before reading: a finish committed after this read is pushed to us.
                record = await get(execution_id, project_id)
                if record is None:
                    raise ExecutionNotFoundError(f"no execution {execution_id!r}")
                if record.status in FINISHED_STATUSES:
                    return record
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise WorkflowTimeoutError(
                        f"execution {execution_id} did not finish in time; it keeps running (status {record.status})"
                    )
                # Re-check the database at least every 5 s in case a notification was lost.
                wait = 5.0 if remaining is None else min(5.0, remaining)
                await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
        finally:
            await pubsub.aclose()
    delay = 0.002
    while True:
        record = await get(execution_id, project_id)
        if record is None:
            raise ExecutionNotFoundError(f"no execution {execution_id!r}")
        if record.status in FINISHED_STATUSES:
            return record
        if deadline is not None and time.monotonic() >= deadline:
            raise WorkflowTimeoutError(f"execution {execution_id} did not finish in time; it keeps running")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
