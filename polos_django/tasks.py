"""Celery entry points (thin: the work happens in :mod:`polos_django.engine`)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="polos.run_execution", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execution_task(execution_id: str) -> str:
    """Claim and run one execution (a doorbell; duplicates and stale ones are no-ops)."""
    from .engine import get_engine

    return get_engine().run(execution_id)


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
    }
