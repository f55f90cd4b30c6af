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


@signals.worker_ready.connect
def _start_presence(sender: Any = None, **kwargs: Any) -> None:
    # Worker presence (polos_django.presence): a record refreshed while this worker runs.
    try:
        from . import presence

        hostname, queues, workflows, concurrency = _worker_identity(sender)
        pool = getattr(sender, "pool", None)
        presence.start(hostname, queues, workflows, concurrency, pids=lambda: _pool_pids(pool))
    except Exception:  # presence is informational: never keep a worker from starting
        logger.warning("could not start the worker presence heartbeat", exc_info=True)


def _worker_identity(consumer: Any) -> tuple[str, list[str], list[str], int]:
    """Hostname, consumed queues, served workflow ids and concurrency of a ready Celery consumer."""
    from polos.workflow import get_all_workflows

    from .doorbell import celery_queue

    app = consumer.app
    queues = sorted(app.amqp.queues.consume_from or app.amqp.queues)
    default = app.conf.task_default_queue
    served = []
    for workflow_id, wf in get_all_workflows().items():
        queue = getattr(wf, "queue", None)
        if (celery_queue(queue.name if queue is not None else None) or default) in queues:
            served.append(workflow_id)
    controller = getattr(consumer, "controller", None)
    # The pool's limit (1 for the solo pool, whatever -c says), else the configured concurrency.
    concurrency = int(getattr(consumer.pool, "limit", None) or getattr(controller, "concurrency", None) or 1)
    return str(consumer.hostname), queues, served, concurrency


def _pool_pids(pool: Any) -> list[int]:
    """Processes of a Celery pool that run tasks (prefork children; none for solo/threads)."""
    info = pool.info if pool is not None else None
    processes = info.get("processes") if isinstance(info, dict) else None
    return [int(p) for p in processes or () if isinstance(p, int)]


@signals.worker_shutdown.connect  # after the pool stopped (not from the signal handler)
def _stop_presence_at_exit(sender: Any = None, **kwargs: Any) -> None:
    from . import presence

    hostname = getattr(sender, "hostname", None)
    presence.stop(str(hostname) if hostname else None)


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
