"""Celery signal receivers: start the reaper in worker nodes, warm up worker processes."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import signals

from .conf import polos_settings

logger = logging.getLogger("polos.worker")
_reaper: Any = None


@signals.worker_ready.connect
def _announce_ready(**kwargs: Any) -> None:
    # polos_django.testing.WorkerProcess waits for this file.
    ready_file = os.environ.get("POLOS_WORKER_READY_FILE")
    if ready_file:
        with open(ready_file, "w") as f:
            f.write(str(os.getpid()))


@signals.worker_ready.connect
def _start_reaper(**kwargs: Any) -> None:
    global _reaper
    if not polos_settings.REAPER_IN_WORKER:
        return
    from .engine import Reaper

    _reaper = Reaper()
    _reaper.start()
    logger.info("polos reaper running every %.1f s", _reaper.interval)


@signals.worker_shutting_down.connect
def _stop_reaper(**kwargs: Any) -> None:
    if _reaper is not None:
        _reaper.stop()


@signals.worker_process_init.connect
def _warm_up(**kwargs: Any) -> None:
    from django.db import connections

    # A forked child must not share its parent's database connections.
    for conn in connections.all(initialized_only=True):
        conn.inc_thread_sharing()
        conn.close()
        conn.dec_thread_sharing()
    from .engine import get_engine

    get_engine()
