"""What the registry, schedules and queues pages show: gathered from this process, Redis and the database."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count

from polos.store import RUNNING

from .. import live
from ..api import registry as announced_registry
from ..models import Execution
from .queries import ACTIVE

logger = logging.getLogger("polos.ui")
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


def _broker_backlog(names: list[str]) -> dict[str, int | None]:
    """Messages waiting in each Celery queue (Redis brokers only; ``None`` when unknown)."""
    backlog: dict[str, int | None] = dict.fromkeys(names)
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return backlog
    try:
        import redis

        client = redis.Redis.from_url(broker, socket_timeout=2, socket_connect_timeout=2)
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        for name, length in zip(names, pipe.execute(), strict=True):
            backlog[name] = int(length)
        client.close()
    except Exception:
        logger.warning("could not read Celery queue lengths from the broker", exc_info=True)
    return backlog


def queues_and_workers() -> dict[str, Any]:
    """Active executions per queue and status, broker backlogs, and the workers seen."""
    default = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    per_queue: dict[str, dict[str, Any]] = {}
    rows = Execution.objects.filter(status__in=ACTIVE).values("queue_name", "status").annotate(n=Count("id"))
    for row in rows:
        name = row["queue_name"] or default
        entry = per_queue.setdefault(name, {"name": name, **dict.fromkeys(ACTIVE, 0)})
        entry[row["status"]] += row["n"]
    backlog = _broker_backlog(sorted(per_queue) or [default])
    for name, length in backlog.items():
        per_queue.setdefault(name, {"name": name, **dict.fromkeys(ACTIVE, 0)})["backlog"] = length
    owners = (
        Execution.objects.filter(status=RUNNING, lease_owner__isnull=False)
        .values("lease_owner")
        .annotate(n=Count("id"))
        .order_by("lease_owner")
    )
    workers: dict[str, dict[str, Any]] = {}
    for entry in announced_registry.announced().values():
        name = entry.get("worker")
        if name:
            worker = workers.setdefault(name, {"name": name, "last_seen": None, "workflows": [], "running": 0})
            worker["workflows"].append(entry.get("id"))
            worker["last_seen"] = max(filter(None, [worker["last_seen"], entry.get("last_seen")]), default=None)
    return {
        "queues": sorted(per_queue.values(), key=lambda q: q["name"]),
        "workers": sorted(workers.values(), key=lambda w: w["name"]),
        "owners": list(owners),
        "redis": live.polos_settings.REDIS_URL is not None,
    }
