"""Celery entry points (thin: the work happens in :mod:`polos_django.engine`)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task, signals

logger = logging.getLogger("polos.tasks")


@shared_task(name="polos.run_execution", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execution_task(self: Any, execution_id: str) -> str:
    """Claim and run one execution (a doorbell; duplicates and stale ones are no-ops)."""
    from .engine import get_engine
    from .store.store import running_task

    running_task.id = self.request.id
    try:
        return get_engine().run(execution_id)
    finally:
        running_task.id = None


@shared_task(name="polos.reap", ignore_result=True)
def reap_task() -> dict[str, int]:
    """One reaper pass (for celery beat; workers also reap on their own by default)."""
    from .engine import reap_once

    report = reap_once()
    return {
        "expired_leases": report.expired_leases,
        "rerung": report.rerung,
        "timers_fired": report.timers_fired,
        "waits_expired": report.waits_expired,
        "triggered": report.triggered,
        "scheduled": report.scheduled,
        "cancels_killed": report.cancels_killed,
    }


@shared_task(name="polos.fire_schedule", ignore_result=True)
def fire_schedule_task(schedule_id: str) -> list[str]:
    """Start the due occurrences of one schedule (called by its django-celery-beat PeriodicTask)."""
    from .schedules import fire

    return fire(schedule_id)


@signals.worker_ready.connect
def _register_definitions(**kwargs: Any) -> None:
    """A starting worker writes the event triggers and cron schedules of the workflows it serves."""
    from .flow import sync_definitions

    try:
        sync_definitions()
    except Exception:  # a worker must start even if, say, the migrations are not applied yet
        logger.exception("could not register event triggers and schedules")
