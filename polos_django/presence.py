"""Worker presence: each running worker keeps a short-lived record of itself in Redis.

Every Celery worker of the runtime (``polos worker``, ``polos server start``'s worker, a
``polos.Worker`` in a script, the test workers) starts a :class:`Heartbeat` when it is ready to
consume (``polos_django.worker_signals``).  The heartbeat writes the record below under
``polos:worker:<hostname>`` every ``POLOS["WORKER_HEARTBEAT_SECONDS"]`` with a time to live of three
intervals, and deletes it on a clean shutdown.  A worker that dies without shutting down (SIGKILL,
a lost host) simply stops refreshing its record, which expires: :func:`live_workers` lists only
workers that were alive within the last few intervals.

Record (JSON)::

    {"hostname": "celery@host", "host": "host", "pid": 123, "pids": [123, 124, 125],
     "queues": ["default"], "workflows": ["wf_a"],
     "concurrency": 4, "started_at": "2026-...+00:00", "last_seen": "2026-...+00:00",
     "heartbeat_seconds": 10.0, "expires_in_seconds": 30.0, "version": 1}

Nothing here needs to be durable: a record lost with a Redis restart is rewritten at the next beat.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from . import live
from .conf import polos_settings

logger = logging.getLogger("polos.presence")

KEY_PREFIX = "polos:worker:"
TTL_BEATS = 3  # a record expires after this many missed beats
RECORD_VERSION = 1
_SCAN_COUNT = 500


def key(hostname: str) -> str:
    """The Redis key of one worker's record."""
    return KEY_PREFIX + hostname


def heartbeat_seconds() -> float:
    """The configured interval between two beats (at least 0.1 s)."""
    return max(0.1, float(polos_settings.WORKER_HEARTBEAT_SECONDS))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class Heartbeat:
    """Keeps one worker's presence record fresh from a background thread.

    Args:
        hostname: the worker's Celery hostname (unique per running worker).
        queues: the Celery queues it consumes.
        workflows: ids of the workflows it serves.
        concurrency: executions it runs at once.
        interval: seconds between two beats (default ``POLOS["WORKER_HEARTBEAT_SECONDS"]``).
        pids: returns the processes that run its executions (pool children; default: this one),
            called at every beat: leases name their owner ``host:pid``.
    """

    def __init__(
        self,
        hostname: str,
        queues: Iterable[str],
        workflows: Iterable[str],
        concurrency: int,
        *,
        interval: float | None = None,
        pids: Callable[[], Iterable[int]] | None = None,
    ) -> None:
        self.hostname = hostname
        self._pids = pids
        self.interval = max(0.1, float(interval)) if interval is not None else heartbeat_seconds()
        self.ttl = self.interval * TTL_BEATS
        self.record: dict[str, Any] = {
            "hostname": hostname,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pids": [os.getpid()],
            "queues": sorted(set(queues)),
            "workflows": sorted(set(workflows)),
            "concurrency": int(concurrency),
            "started_at": _now(),
            "last_seen": None,
            "heartbeat_seconds": self.interval,
            "expires_in_seconds": self.ttl,
            "version": RECORD_VERSION,
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """Write the record once; ``False`` when Redis is not configured or not reachable."""
        client = live.redis_client()
        if client is None:
            return False
        self.record["last_seen"] = _now()
        if self._pids is not None:
            try:
                self.record["pids"] = sorted({os.getpid(), *(int(p) for p in self._pids())})
            except Exception:  # a pool restarting its children: keep the last known list
                logger.debug("could not list the pool processes of worker %s", self.hostname, exc_info=True)
        try:
            client.set(key(self.hostname), json.dumps(self.record), px=int(self.ttl * 1000))
        except Exception:
            logger.warning("could not refresh the presence of worker %s in Redis", self.hostname, exc_info=True)
            return False
        return True

    def start(self) -> Heartbeat:
        """Write the record now, then keep it fresh until :meth:`stop`."""
        if self._thread is None:
            self.beat()
            self._thread = threading.Thread(target=self._run, name="polos-presence", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        """Stop beating and delete the record (the worker leaves the list at once)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        client = live.redis_client()
        if client is None:
            return
        try:
            client.delete(key(self.hostname))
        except Exception:
            logger.warning("could not remove the presence record of worker %s", self.hostname, exc_info=True)


_running: dict[str, Heartbeat] = {}
_lock = threading.Lock()


def start(
    hostname: str,
    queues: Iterable[str],
    workflows: Iterable[str],
    concurrency: int,
    pids: Callable[[], Iterable[int]] | None = None,
) -> Heartbeat:
    """Start (or restart) the heartbeat of the worker ``hostname`` in this process."""
    beat = Heartbeat(hostname, queues, workflows, concurrency, pids=pids)
    with _lock:
        previous = _running.pop(hostname, None)
        _running[hostname] = beat
    if previous is not None:
        previous._stop.set()
    return beat.start()


def stop(hostname: str | None = None) -> None:
    """Stop the heartbeat of ``hostname`` (every heartbeat of this process when ``None``)."""
    with _lock:
        if hostname is None:
            beats = list(_running.values())
            _running.clear()
        else:
            found = _running.pop(hostname, None)
            beats = [found] if found is not None else []
    for beat in beats:
        beat.stop()


def live_workers() -> list[dict[str, Any]] | None:
    """Records of the workers alive now, by hostname; ``None`` when presence is unknown (no Redis).

    Raises nothing: an unreachable Redis is logged and answers ``None``.
    """
    client = live.redis_client()
    if client is None:
        return None
    try:
        keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=_SCAN_COUNT))
        values = client.mget(keys) if keys else []
    except Exception:
        logger.warning("could not read worker presence from Redis", exc_info=True)
        return None
    workers = []
    for raw in values:
        if raw is None:  # expired between SCAN and MGET
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("hostname"):
            workers.append(record)
    return sorted(workers, key=lambda w: str(w["hostname"]))
