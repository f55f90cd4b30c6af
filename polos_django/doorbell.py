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


def ring(execution_id: str, queue_name: str | None = None, *, lane: Lane | None = None, priority: int = 0) -> None:
    """Send the run task for ``execution_id`` (call after the transaction that made it runnable).

    ``lane`` — ``(queue name, concurrency key, limit)`` of an execution in a lane with a concurrency
    limit — lets the worker claim it with the lane's admission at once (a hint: a wrong one only
    costs a query).  ``priority`` is the execution's: on a Redis broker the message goes ahead of
    (above 0) or behind (below 0) the default ones waiting in its Celery queue.
    """
    options: dict[str, Any] = {}
    queue = celery_queue(queue_name)
    if queue:
        options["queue"] = queue
    if lane is not None:
        options["kwargs"] = {"lane": list(lane)}
    level = message_priority(priority)
    if level is not None:
        options["priority"] = level
    try:
        get_celery_app().send_task(RUN_TASK, (execution_id,), **options)
    except Exception:  # the broker is down: the reaper re-rings once it is back
        logger.exception("could not ring the doorbell of execution %s; the reaper will retry", execution_id)


def message_priority(priority: int) -> int | None:
    """The Celery message priority of a Polos ``priority`` (``None``: the broker has none to give).

    kombu's Redis transport keeps one list per priority step (``priority_steps`` of
    ``broker_transport_options``, default ``[0, 3, 6, 9]``) and a worker pops the lowest step first,
    FIFO within a list.  Polos uses the first three steps: above 0, 0 (the default), below 0.  Other
    brokers get no message priority (RabbitMQ would need queues declared with ``x-max-priority``).
    """
    steps = _redis_priority_steps()
    if steps is None:
        return None
    high, default, low = steps
    return high if priority > 0 else low if priority < 0 else default


def redis_lists(queue: str) -> list[str]:
    """The Redis lists kombu keeps for the Celery queue ``queue``: itself, then one per further step."""
    options = get_celery_app().conf.broker_transport_options or {}
    sep = str(options.get("sep") or "\x06\x16")
    return [queue, *(f"{queue}{sep}{step}" for step in _priority_steps(options) if step)]


def _priority_steps(options: dict[str, Any]) -> list[int]:
    return sorted({int(step) for step in options.get("priority_steps") or (0, 3, 6, 9)})


_steps: dict[int, tuple[int, int, int] | None] = {}  # per Celery app: None when its broker is not Redis


def _redis_priority_steps() -> tuple[int, int, int] | None:
    app = get_celery_app()
    key = id(app)
    if key not in _steps:
        found: tuple[int, int, int] | None = None
        try:
            with app.connection_for_write() as conn:  # no network: only the transport's class
                driver = conn.transport.driver_type
        except Exception:
            driver = None
        steps = _priority_steps(app.conf.broker_transport_options or {})
        if driver == "redis" and len(steps) >= 3:
            found = (steps[0], steps[1], steps[2])
        _steps[key] = found
    return _steps[key]


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
