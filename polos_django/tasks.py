"""Celery entry points (thin: the work happens in :mod:`polos_django.engine`)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task, signals

logger = logging.getLogger("polos.tasks")


@shared_task(name="polos.run_execution", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execution_task(self: Any, execution_id: str, lane: list[Any] | None = None) -> str:
    """Claim and run one execution (a doorbell; duplicates and stale ones are no-ops).

    ``lane``: ``[queue name, concurrency key, limit]`` when the execution is in a limited lane (a hint).
    """
    from .engine import get_engine
    from .store.handoff import HandOff
    from .store.running import running_task

    delivery = self.request.delivery_info or {}
    handoff = HandOff.start(delivery.get("routing_key"))
    running_task.id = self.request.id
    running_task.lane = lane
    running_task.handoff = handoff
    try:
        outcome = get_engine().run(execution_id)
        # A limited lane's next execution handed to this task (see polos_django.store.handoff).
        while handoff is not None and (handed := handoff.take()) is not None:
            execution_id, running_task.lane = handed[0], list(handed[1])
            outcome = get_engine().run(execution_id)
        return outcome
    finally:
        running_task.id = None
        running_task.lane = None
        running_task.handoff = None
        if handoff is not None:
            handoff.release()


@shared_task(name="polos.reap", ignore_result=True)
def reap_task() -> dict[str, int]:
    """One reaper pass (for celery beat; workers also reap on their own by default)."""
    from .engine import reap_once

    return dataclasses.asdict(reap_once())


@shared_task(name="polos.fire_schedule", ignore_result=True)
def fire_schedule_task(schedule_id: str) -> list[str]:
    """Start the due occurrences of one schedule (called by its django-celery-beat PeriodicTask)."""
    from .schedules import fire

    return fire(schedule_id)


@signals.celeryd_after_setup.connect
def _consume_declared_queues(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """A worker started without ``-Q`` also consumes the named queues of the workflows it knows.

    So a plain ``celery -A proj worker`` runs every workflow, whatever its queue; a worker started
    with ``-Q`` consumes exactly the queues it was given (dedicated workers per queue).
    """
    queues = getattr(getattr(getattr(instance, "app", None), "amqp", None), "queues", None)
    if queues is None or getattr(queues, "_consume_from", None) is not None:
        return
    from polos.workflow import get_all_workflows

    names = sorted({wf.queue.name for wf in get_all_workflows().values() if getattr(wf, "queue", None)})
    for name in names:
        queues.select_add(name)
    if names:
        logger.info("also consuming the named queues of registered workflows: %s", ", ".join(names))


@signals.worker_ready.connect
def _register_definitions(**kwargs: Any) -> None:
    """A starting worker writes the event triggers and cron schedules of the workflows it serves."""
    from .flow import sync_definitions

    try:
        sync_definitions()
    except Exception:  # a worker must start even if, say, the migrations are not applied yet
        logger.exception("could not register event triggers and schedules")
