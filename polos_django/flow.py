"""Writing the declarative flow definitions of registered workflows to the database.

Event triggers (``@workflow(trigger_on_event=...)``) and cron schedules (``@workflow(schedule="...")``)
are declared in code; a worker writes them when it starts (``worker_ready``), so publishers and
celery beat in other processes see them.  Call :func:`sync_definitions` yourself in processes that
are not Celery workers (tests, a management command).

Declared schedules belong to a project: ``"default"``, or the project of the client a
``polos.Worker`` was given (:func:`declare_in_project`).  Triggers serve every project (each
project's events are consumed apart).
"""

from __future__ import annotations

import logging
from typing import Any

from polos.workflow import get_all_workflows

logger = logging.getLogger("polos.flow")
_project = "default"


def declare_in_project(project_id: str) -> None:
    """Write this process's declared schedules to ``project_id`` from now on."""
    global _project
    _project = project_id


def project_of_client(client: Any) -> str:
    """The project a client works in: its ``project_id``, else its API key's project, else ``"default"``."""
    project_id = getattr(client, "project_id", None)
    if project_id:
        return str(project_id)
    api_key = getattr(client, "api_key", None)
    if api_key:
        from .keys import verify_key

        key = verify_key(api_key)
        if key is not None:
            return str(key.project_id)
        logger.warning("the worker's API key is not valid here: its declared schedules go to project 'default'")
    return "default"


def sync_definitions(project_id: str | None = None) -> dict[str, int]:
    """Register the triggers and declared schedules of every registered workflow; returns counts."""
    from . import schedules
    from .store import triggers

    workflows = list(get_all_workflows().values())
    return {
        "triggers": triggers.register(workflows),
        "schedules": schedules.sync_declared(workflows, project_id=project_id or _project),
    }
