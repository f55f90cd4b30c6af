"""The per-process execution engine used by the Celery task.

Each worker process keeps one event loop, one store, one lease heartbeat and (optionally) a reaper
thread.  Start-up work happens once per process, never per task.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from typing import Any

from django.db import close_old_connections, connection, connections

from polos.runtime import Heartbeat, run_execution, worker_identity

from .conf import polos_settings, runtime_settings
from .forking import database_work
from .store import get_store

logger = logging.getLogger("polos.engine")


class Engine:
    """Runs executions on a private event loop (one at a time per process)."""

    def __init__(self) -> None:
        # Workflow code runs on this loop and the store's database calls are synchronous on purpose
        # (one write per step, no thread hop).  Django's async-safety guard would refuse them inside
        # a running loop; in a worker process that runs one execution at a time on its own loop
        # they are safe.  See docs/architecture.md.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        self.loop = asyncio.new_event_loop()
        self.settings = runtime_settings()
        self.store = get_store()
        self.heartbeat = Heartbeat(self.store, self.settings)
        self.owner = worker_identity()
        self.pid = os.getpid()

        # Every execution runs in this one context.  While a loop runs, Django keeps its database
        # connections per asyncio context: a fresh context per execution would open (and leak) a
        # new connection for every execution.
        self.context = contextvars.copy_context()

    def run(self, execution_id: str) -> str:
        task = self.loop.create_task(self._run(execution_id), context=self.context)
        return self.loop.run_until_complete(task)

    async def _run(self, execution_id: str) -> str:
        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()
        return await run_execution(
            self.store, execution_id, owner=self.owner, settings=self.settings, heartbeat=self.heartbeat
        )


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The engine of this process (a forked child gets its own)."""
    global _engine
    if _engine is None or _engine.pid != os.getpid():
        with _engine_lock:
            if _engine is None or _engine.pid != os.getpid():
                _engine = Engine()
    return _engine


class Reaper:
    """A daemon thread that runs :meth:`DjangoStore.reap` every ``REAPER_INTERVAL_SECONDS``."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval if interval is not None else float(polos_settings.REAPER_INTERVAL_SECONDS)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="polos-reaper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        store = get_store()
        passes = 0
        while not self._stop.wait(self.interval):
            passes += 1
            # A worker's main process forks pool children: not in the middle of a pass (forking).
            with database_work():
                try:
                    report = store.reap(repair=passes % 10 == 0)
                    if report.total:
                        logger.info("reaper: %s", report)
                except Exception:
                    logger.exception("reaper pass failed; retrying in %.1f s", self.interval)
                    close_old_connections()
                finally:
                    connection.close_if_unusable_or_obsolete()


def reap_once() -> Any:
    return get_store().reap()
