"""Replay-then-follow over a topic: what the SSE endpoints and the websocket consumer send.

The database is the source of truth; Redis pub/sub is only the doorbell.  ``follow`` subscribes to
``polos:topic:{topic}`` *before* it reads the backlog, then reads events after its cursor from the
database each time the doorbell rings.  Trusting the pushed message bodies instead would be faster
but wrong: two processes writing one topic (a parent and its child on different workers) can
publish out of sequence order, and pushed bodies carry no project, so a stream could skip an event
or see another project's event on a same-named topic.  A read per ring is one indexed query, and
rings that arrive together are served by one read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from channels.db import database_sync_to_async

from polos.store import FINISHED_STATUSES, EventRecord

from .. import live
from ..models import Event, Execution
from ..store import sql

KEEPALIVE_SECONDS = 15.0
# Re-read the database this often even without a ring (a lost notification, Redis restarting).
RECHECK_SECONDS = 5.0
POLL_SECONDS = 0.25  # without Redis
PAGE = 500
FINISH_TYPES = live.FINISH_TYPES


def event_dict(event: EventRecord) -> dict[str, Any]:
    return {**event.as_payload(), "execution_id": event.execution_id}


def finished_execution(event: EventRecord) -> str | None:
    """The execution a finish event is about (``None`` for other events)."""
    if event.event_type not in FINISH_TYPES:
        return None
    data = event.data if isinstance(event.data, dict) else {}
    return data.get("execution_id") or event.execution_id


def fetch_events(topic: str, project_id: str, after: int, since: dt.datetime | None, limit: int) -> list[EventRecord]:
    rows = Event.objects.filter(project_id=project_id, topic=topic, id__gt=after)
    if since is not None:
        rows = rows.filter(created_at__gt=since)
    columns = ("id", "topic", "event_type", "data", "created_at", "execution_id")
    return [sql.event_record(row) for row in rows.order_by("id").values_list(*columns)[:limit]]


def _finished(execution_id: str) -> bool:
    return Execution.objects.filter(id=execution_id, status__in=FINISHED_STATUSES).exists()


read_events = database_sync_to_async(fetch_events)
is_finished = database_sync_to_async(_finished)


class _Doorbell:
    """A Redis pub/sub subscription used only to learn that something was published."""

    def __init__(self) -> None:
        self._client: Any = None
        self._pubsub: Any = None

    async def open(self, channel: str) -> bool:
        url = live.polos_settings.REDIS_URL
        if not url:
            return False
        import redis.asyncio as aioredis

        try:
            self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
            self._pubsub = self._client.pubsub()
            await self._pubsub.subscribe(channel)
        except Exception:  # no Redis: fall back to polling the database
            await self.close()
            return False
        return True

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a ring; then drain rings already queued.  ``True`` if rung."""
        if self._pubsub is None:
            await asyncio.sleep(min(timeout, POLL_SECONDS))
            return True
        try:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            if message is None:
                return False
            while await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
                pass
        except Exception:  # Redis went away: keep going on the database alone
            await self.close()
            return True
        return True

    async def close(self) -> None:
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        try:
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()
        except Exception:
            pass


async def follow(
    topic: str,
    project_id: str,
    *,
    after: int = 0,
    since: dt.datetime | None = None,
    until_finished: str | None = None,
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[EventRecord | None]:
    """Events of ``topic`` in ``project_id`` after sequence id ``after``, then live ones.

    Yields ``None`` after ``keepalive`` seconds without events (callers send a keep-alive).  With
    ``until_finished`` set to an execution id, ends after that execution's ``workflow_finish`` /
    ``workflow_cancel`` event, or at once when it already finished before the cursor.
    ``since`` (a timestamp cursor) applies until the first event is found.
    """
    doorbell = _Doorbell()
    await doorbell.open(live.topic_channel(topic))
    idle_since = time.monotonic()
    try:
        while True:
            events = await read_events(topic, project_id, after, since, PAGE)
            for event in events:
                after, since = event.sequence_id, None
                yield event
                if until_finished is not None and finished_execution(event) == until_finished:
                    return
            if len(events) == PAGE:
                continue
            if events:
                idle_since = time.monotonic()
            elif until_finished is not None and await is_finished(until_finished):
                # The finish event commits with the status: anything before it is readable now.
                if not await read_events(topic, project_id, after, since, 1):
                    return
                continue
            idle = time.monotonic() - idle_since
            if idle >= keepalive:
                yield None
                idle_since = time.monotonic()
                continue
            await doorbell.wait(min(RECHECK_SECONDS, keepalive - idle))
    finally:
        await doorbell.close()


def sse_message(event: EventRecord) -> bytes:
    body = json.dumps(event_dict(event), separators=(",", ":"))
    return f"id: {event.sequence_id}\ndata: {body}\n\n".encode()


SSE_OPEN = b"retry: 1000\n\n"
SSE_KEEPALIVE = b": keep-alive\n\n"
SSE_END = b'event: end\ndata: {"end": true}\n\n'


async def sse(events: AsyncIterator[EventRecord | None], *, end_marker: bool) -> AsyncIterator[bytes]:
    """Server-sent events: ``id:`` is the sequence id, ``data:`` the event as JSON.

    A stream that ends on purpose (a finished workflow run) says so with an ``end`` event, so that a
    client can tell it from a dropped connection and does not reconnect.
    """
    yield SSE_OPEN
    try:
        async for event in events:
            yield SSE_KEEPALIVE if event is None else sse_message(event)
        if end_marker:
            yield SSE_END
    finally:
        await events.aclose()  # type: ignore[attr-defined]
