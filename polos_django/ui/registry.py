"""What the registry, schedules and queues pages show: gathered from this process, Redis and the database."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from .. import live
from ..api import registry as announced_registry

KINDS = (("agent", "Agents"), ("workflow", "Workflows"), ("tool", "Tools"))


def grouped() -> list[dict[str, Any]]:
    """Workflows, agents and tools known to this process or announced by workers, by kind."""
    from polos.workflow import get_all_workflows

    found: dict[str, dict[str, Any]] = {}
    for workflow_id, wf in get_all_workflows().items():
        found[workflow_id] = {**announced_registry.describe(wf, "server"), "workers": []}
    for workflow_id, entry in announced_registry.announced().items():
        item = found.setdefault(workflow_id, {**entry, "workers": []})
        if entry.get("worker"):
            item["workers"].append({"name": entry["worker"], "last_seen": entry.get("last_seen")})
        item["source"] = "worker" if item.get("source") != "server" else "server + worker"
    from .. import status

    served = status.workflow_availability() or {}
    for workflow_id, item in found.items():
        item["live_workers"] = served.get(workflow_id, [])
    groups = []
    for kind, label in KINDS:
        items = sorted((v for v in found.values() if (v.get("type") or "workflow") == kind), key=lambda v: v["id"])
        groups.append({"kind": kind, "label": label, "items": items})
    others = sorted(
        (v for v in found.values() if (v.get("type") or "workflow") not in dict(KINDS)), key=lambda v: v["id"]
    )
    if others:
        groups.append({"kind": "other", "label": "Other", "items": others})
    return groups


SCHEDULE_COLUMNS = (
    "workflow_id",
    "cron",
    "timezone",
    "key",
    "paused",
    "next_occurrence",
    "last_occurrence",
    "missed_policy",
    "queue_name",
    "project_id",
)


def polos_schedules() -> list[list[tuple[str, Any]]]:
    """Rows of the app's own schedule table (``polos.Schedule``) when it has one: its main columns."""
    try:
        model = apps.get_model("polos", "Schedule")
    except LookupError:
        return []
    names = [f.name for f in model._meta.concrete_fields]
    columns = [name for name in SCHEDULE_COLUMNS if name in names] or names
    order = "workflow_id" if "workflow_id" in names else "pk"
    rows = model.objects.order_by(order).values_list(*columns)[:500]
    return [[(name.replace("_", " "), value) for name, value in zip(columns, row, strict=True)] for row in rows]


def project_ids() -> list[str]:
    """The projects to choose from: the project rows, and ``default`` (executions need no row)."""
    from ..models import Project

    ids = list(Project.objects.order_by("created_at").values_list("id", flat=True)[:200])
    return ids if "default" in ids else ["default", *ids]


def queues_and_workers(project_id: str) -> dict[str, Any]:
    """The project's queues (backlog, active executions by status and lane, limits, consumers) and
    the live workers (see :mod:`polos_django.status`, shared with the API)."""
    from .. import status

    found = status.queues(project_id)
    return {
        "queues": found["queues"],
        "workers": status.workers(),
        "workers_known": found["workers_known"],
        "redis": live.polos_settings.REDIS_URL is not None,
    }
