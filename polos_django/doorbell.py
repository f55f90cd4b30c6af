"""The doorbell: a Celery message that says "look at execution X".

Losing one or ringing twice is harmless: the database decides who runs what (claims are
compare-and-set), and the reaper re-rings executions that stay queued.
"""

from __future__ import annotations

import logging
from typing import Any

from .celery_app import get_celery_app
from .conf import polos_settings

RUN_TASK = "polos.run_execution"

Lane = tuple[str | None, str | None, int]

logger = logging.getLogger("polos.doorbell")


def celery_queue(queue_name: str | None) -> str | None:
    """The Celery queue of an execution: its Polos queue name, else ``POLOS['DEFAULT_QUEUE']``."""
    return queue_name or polos_settings.DEFAULT_QUEUE


def ring(execution_id: str, queue_name: str | None = None, *, lane: Lane | None = None) -> None:
    """Send the run task for ``execution_id`` (call after the transaction that made it runnable).

    ``lane`` — ``(queue name, concurrency key, limit)`` of an execution in a lane with a concurrency
    limit — lets the worker claim it with the lane's admission at once (a hint: a wrong one only
    costs a query).
    """
    options: dict[str, Any] = {}
    queue = celery_queue(queue_name)
    if queue:
        options["queue"] = queue
    if lane is not None:
        options["kwargs"] = {"lane": list(lane)}
    try:
        get_celery_app().send_task(RUN_TASK, (execution_id,), **options)
    except Exception:  # the broker is down: the reaper re-rings once it is back
        logger.exception("could not ring the doorbell of execution %s; the reaper will retry", execution_id)


def pending_messages(queue_name: str | None) -> int | None:
    """Messages waiting in the Celery queue of ``queue_name`` (``None`` if the broker cannot say)."""
    app = get_celery_app()
    queue = celery_queue(queue_name) or app.conf.task_default_queue
    try:
        with app.connection_for_read() as conn:
            return int(conn.default_channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception as exc:
        # A passive declare of a queue that does not exist (the Redis transport drops empty lists)
        # answers 404: nothing is waiting in it.
        if getattr(exc, "code", None) == 404 or "NOT_FOUND" in str(exc):
            return 0
        logger.debug("could not read the length of Celery queue %s", queue, exc_info=True)
        return None
