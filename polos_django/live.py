"""Live fan-out of committed events over Redis pub/sub.

Events are rows first (durable, the source of truth); after commit they are also published on the
Redis channel ``polos:topic:{topic}`` so streams and result waiters hear about them at once.
Publishing happens on a background thread: a step never waits for Redis.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from polos.steps import TRACE_EVENT_TYPES
from polos.store import EventRecord

from .conf import polos_settings
from .notify.dispatch import on_committed as notify_committed

logger = logging.getLogger("polos.live")

CHANNEL_PREFIX = "polos:topic:"
DONE_PREFIX = "polos:done:"
FINISH_TYPES = frozenset({"workflow_finish", "workflow_cancel"})


def topic_channel(topic: str) -> str:
    return CHANNEL_PREFIX + topic


def done_channel(execution_id: str) -> str:
    return DONE_PREFIX + execution_id


_clients: dict[str, Any] = {}
_client_lock = threading.Lock()


def redis_client() -> Any | None:
    """A shared Redis client for ``POLOS['REDIS_URL']`` (``None`` when no Redis is configured)."""
    url = polos_settings.REDIS_URL
    if not url:
        return None
    with _client_lock:
        client = _clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
            _clients[url] = client
        return client


class _Publisher:
    """Sends live messages from one background thread, in order.

    Trace events (``step_finish`` of every step) are coalesced for up to ``COALESCE_SECONDS`` so that
    recording a step costs a deque append, not a thread wake-up; anything else (finish, suspend,
    resume, user events) is sent at once, together with the trace events queued before it.
    """

    COALESCE_SECONDS = 0.02

    def __init__(self) -> None:
        self._pending: collections.deque[tuple[str, str]] = collections.deque()
        self._wake = threading.Event()
        self._urgent = threading.Event()
        self._armed = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, messages: list[tuple[str, str]], urgent: bool) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="polos-live", daemon=True)
                    self._thread.start()
        self._pending.extend(messages)
        if urgent:
            self._urgent.set()
            self._wake.set()
        elif not self._armed:
            self._armed = True
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if not self._urgent.is_set():
                self._urgent.wait(self.COALESCE_SECONDS)
            self._urgent.clear()
            self._armed = False
            self._busy = True
            batch = []
            while self._pending:
                batch.append(self._pending.popleft())
            if batch:
                self._send(batch)
            self._busy = False

    def _send(self, messages: list[tuple[str, str]]) -> None:
        client = redis_client()
        if client is None:
            return
        try:
            pipe = client.pipeline(transaction=False)
            for channel, body in messages:
                pipe.publish(channel, body)
            pipe.execute()
        except Exception:  # live delivery is best effort: streams replay from the database
            logger.warning("could not publish %d live event(s) to Redis", len(messages), exc_info=True)

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until everything submitted so far is sent (tests, shutdown)."""
        if self._thread is None:
            return
        self._urgent.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while (self._pending or self._busy) and time.monotonic() < deadline:
            time.sleep(0.002)


_publisher = _Publisher()
atexit.register(_publisher.flush)


def publish(events: Sequence[EventRecord]) -> None:
    """Publish committed events (call after commit); suspends and answers also go to the notifiers."""
    if not events:
        return
    notify_committed(events)  # queued for a background thread; never raises (polos_django.notify)
    if not polos_settings.REDIS_URL:
        return
    messages = []
    urgent = False
    for event in events:
        body = json.dumps({**event.as_payload(), "execution_id": event.execution_id})
        messages.append((topic_channel(event.topic), body))
        if event.event_type in FINISH_TYPES and event.execution_id:
            messages.append((done_channel(event.execution_id), body))
        urgent = urgent or event.event_type not in TRACE_EVENT_TYPES
    _publisher.submit(messages, urgent)


def flush(timeout: float = 2.0) -> None:
    _publisher.flush(timeout)
