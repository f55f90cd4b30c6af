"""Writing the declarative flow definitions of registered workflows to the database.

Event triggers (``@workflow(trigger_on_event=...)``) and cron schedules (``@workflow(schedule="...")``)
are declared in code; a worker writes them when it starts (``worker_ready``), so publishers and
celery beat in other processes see them.  Call :func:`sync_definitions` yourself in processes that
are not Celery workers (tests, a management command).
"""

from __future__ import annotations

from polos.workflow import get_all_workflows


def sync_definitions() -> dict[str, int]:
    """Register the triggers and declared schedules of every registered workflow; returns counts."""
    from . import schedules
    from .store import triggers

    workflows = list(get_all_workflows().values())
    return {"triggers": triggers.register(workflows), "schedules": schedules.sync_declared(workflows)}
