"""Publishing events and following topics and workflow runs (``polos.events``).

::

    from polos.features import events

    await events.publish(client, "orders", EventData(event_type="paid", data={"order": 42}))
    async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
        print(event.event_type, event.data)

Streams start at the beginning of the topic unless given a cursor (``last_sequence_id``, or
``last_timestamp``), so nothing emitted before the call is missed; they survive dropped connections
by resuming after the last sequence id seen.  ``stream_workflow`` ends after the run's
``workflow_finish`` / ``workflow_cancel`` event (which failures emit too).

``client`` is a :class:`~polos.PolosClient`, a :class:`~polos.Polos`, or any client with the same
``publish_events`` / ``stream_events`` methods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..exceptions import ConfigurationError
from ..types import BatchEventPayload, EventData, EventPayload, StreamEvent

__all__ = [
    "BatchEventPayload",
    "EventData",
    "EventPayload",
    "StreamEvent",
    "batch_publish",
    "publish",
    "stream_topic",
    "stream_workflow",
]


def _method(client: Any, name: str) -> Any:
    method = getattr(client, name, None)
    if method is None:
        raise ConfigurationError(
            f"{type(client).__name__} cannot {name.replace('_', ' ')}: use a PolosClient or Polos "
            "(inside a workflow, use ctx.step.publish_event / ctx.step.wait_for_event)"
        )
    return method


async def batch_publish(
    client: Any,
    topic: str,
    events: Sequence[EventData | dict[str, Any]],
    execution_id: str | None = None,
    root_execution_id: str | None = None,
) -> list[int]:
    """Publish events on ``topic`` in order, in one transaction; returns their sequence ids.

    ``execution_id`` / ``root_execution_id`` are accepted for compatibility and not used.
    """
    return list(await _method(client, "publish_events")(topic, list(events)))


async def publish(
    client: Any,
    topic: str,
    event_data: EventData | dict[str, Any],
    execution_id: str | None = None,
    root_execution_id: str | None = None,
) -> int:
    """Publish one event on ``topic``; returns its sequence id."""
    [sequence_id] = await batch_publish(client, topic, [event_data])
    return sequence_id


def stream_topic(
    client: Any,
    topic: str,
    last_sequence_id: int | None = None,
    last_timestamp: dt.datetime | None = None,
) -> AsyncIterator[StreamEvent]:
    """The events of ``topic`` after the cursor (from the beginning by default), then live ones."""
    stream: AsyncIterator[StreamEvent] = _method(client, "stream_events")(
        topic, last_sequence_id=last_sequence_id, last_timestamp=last_timestamp
    )
    return stream


def stream_workflow(
    client: Any,
    workflow_id: str,
    workflow_run_id: str,
    last_sequence_id: int | None = None,
    last_timestamp: dt.datetime | None = None,
) -> AsyncIterator[StreamEvent]:
    """The events of a workflow run's tree (from its start by default), until the run finishes."""
    stream: AsyncIterator[StreamEvent] = _method(client, "stream_events")(
        workflow_id=workflow_id,
        workflow_run_id=workflow_run_id,
        last_sequence_id=last_sequence_id,
        last_timestamp=last_timestamp,
    )
    return stream
