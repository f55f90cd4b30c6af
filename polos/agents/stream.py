"""Following a streaming agent run: ``StreamResult`` (from ``agent.stream(...)``).

::

    result = await agent.stream(client, "Tell me a story")
    async for chunk in result.text_chunks:
        print(chunk, end="")
    final = await result.result()

Events are read from the run's topic from its beginning, so nothing emitted before iteration
started is missed; iteration ends when the run finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..types import AgentResult, ExecutionHandle, StreamEvent

if TYPE_CHECKING:
    from ..client import ClientLike
    from .agent import Agent

FINISH_TYPES = frozenset({"workflow_finish", "workflow_cancel"})


class AgentStreamHandle:
    """An async iterator over every event of an agent run's tree, ending when the run finishes."""

    def __init__(
        self,
        client: ClientLike,
        agent_run_id: str,
        root_workflow_id: str,
        root_execution_id: str | None = None,
        created_at: str | None = None,
    ) -> None:
        self.client = client
        self.agent_run_id = agent_run_id
        self.root_workflow_id = root_workflow_id
        self.root_execution_id = root_execution_id or agent_run_id
        self.created_at = created_at
        self.topic = f"workflow/{self.root_workflow_id}/{self.root_execution_id}"

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamEvent]:
        stream_events = getattr(self.client, "stream_events", None)
        if stream_events is not None:
            source = stream_events(workflow_id=self.root_workflow_id, workflow_run_id=self.root_execution_id)
        else:
            source = _local_events(self.client, self.topic, self.root_execution_id)
        async for event in source:
            yield event
            if event.event_type in FINISH_TYPES and _execution_of(event) == self.root_execution_id:
                return


def _execution_of(event: StreamEvent) -> str | None:
    data = event.data if isinstance(event.data, dict) else {}
    metadata = data.get("_metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    return data.get("execution_id") or metadata.get("execution_id")


def _store_of(client: Any) -> tuple[Any, bool]:
    """The execution store behind an in-process client, and whether its calls block (a database)."""
    runtime = getattr(client, "_runtime", None)
    store = getattr(runtime, "store", None)
    if store is not None:
        return store, False
    if type(client).__module__.startswith("polos_django."):
        from polos_django.store import get_store

        return get_store(), True
    raise TypeError(f"{type(client).__name__} cannot stream events: use a PolosClient, Polos or a LocalRuntime client")


async def _local_events(client: Any, topic: str, root_execution_id: str) -> AsyncIterator[StreamEvent]:
    """Events read from an in-process store (``LocalRuntime``, or Django's ``LocalClient``) as the run goes."""
    from ..store import FINISHED_STATUSES

    store, blocking = _store_of(client)

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs) if blocking else fn(*args, **kwargs)

    cursor = 0
    idle = 0.005
    while True:
        batch = await call(store.list_events, topic, after=cursor)
        for record in batch:
            cursor = record.sequence_id
            yield StreamEvent.model_validate(record.as_payload())
        if batch:
            idle = 0.005
            continue
        execution = await call(store.get_execution, root_execution_id)
        finished = execution is None or execution.status in FINISHED_STATUSES
        if finished and not await call(store.list_events, topic, after=cursor):
            return
        await asyncio.sleep(idle)
        idle = min(idle * 2, 0.1 if blocking else 0.005)


class StreamResult:
    """A streaming agent run: its handle plus ways to follow it.

    Attributes:
        handle: the run's :class:`~polos.types.ExecutionHandle`.
        agent_run_id: the run's execution id.
        topic: the event topic of the run's tree.
    """

    def __init__(self, handle: ExecutionHandle, client: ClientLike, agent: Agent | None = None) -> None:
        self.handle = handle
        self.client = client
        self.agent = agent
        self.agent_run_id = handle.id
        self.topic = handle.topic

    @property
    def id(self) -> str:
        """The run's execution id."""
        return self.handle.id

    @property
    def root_workflow_id(self) -> str:
        return self.handle.root_workflow_id or self.handle.workflow_id

    @property
    def root_execution_id(self) -> str:
        return self.handle.root_execution_id or self.handle.id

    def _events(self) -> AgentStreamHandle:
        return AgentStreamHandle(
            self.client, self.handle.id, self.root_workflow_id, self.root_execution_id, self.handle.created_at
        )

    @property
    def events(self) -> AsyncIterator[StreamEvent]:
        """Every event of the run (``text_delta``, ``tool_call``, ``tool_start`` ...), until it finishes."""
        return aiter(self._events())

    @property
    def text_chunks(self) -> AsyncIterator[str]:
        """The reply text as it is generated (chunks of ``text_delta`` events of this agent)."""
        return self._text_chunks()

    async def _text_chunks(self) -> AsyncIterator[str]:
        async for event in self._events():
            if event.event_type == "text_delta" and _execution_of(event) == self.handle.id:
                content = event.data.get("content") if isinstance(event.data, dict) else None
                if content:
                    yield str(content)

    async def text(self) -> str:
        """All streamed text, once the run finished."""
        return "".join([chunk async for chunk in self.text_chunks])

    async def result(self, timeout: float | None = 600.0) -> AgentResult:
        """The run's :class:`~polos.types.AgentResult` (waits for the run to finish)."""
        value = await self.client.wait_for_result(self.handle.id, timeout=timeout)
        if self.agent is not None:
            return self.agent.coerce_result(value)
        return value if isinstance(value, AgentResult) else AgentResult.model_validate(value)

    async def get(self) -> dict[str, Any]:
        """The execution as a dict (status, result, ...)."""
        return await self.client.get_execution(self.handle.id)

    def __repr__(self) -> str:
        return f"StreamResult(agent_run_id={self.agent_run_id!r}, topic={self.topic!r})"


__all__ = ["AgentStreamHandle", "StreamResult"]
