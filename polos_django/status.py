"""Workers and queues status: what ``GET /api/v1/workers`` and ``GET /api/v1/queues`` answer.

Shared by the API and the web UI.  Sources:

- workers: the presence records of live workers in Redis (:mod:`polos_django.presence`), plus, per
  worker, how many executions of the project it is running (the ``lease_owner`` of running rows);
- queues: the Celery backlog of each queue (messages waiting in the broker, Redis brokers only;
  shared by every project), the project's executions per queue and status (``queued``,
  ``running``, ``waiting``) and per concurrency lane (queue, concurrency key) from the database,
  the configured concurrency limits (``POLOS["QUEUES"]`` or as declared in this process) and the
  live workers consuming each queue;
- workflow availability: an announced or registered workflow is available when a live worker
  serves it (:func:`workflow_availability`).

Every function answers from what it can reach: without Redis, workers and availability are
unknown (``None``) and backlogs are ``None``; the database counts are always there.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import Count, Max

from polos.store import QUEUED, RUNNING, WAITING

from . import presence
from .conf import polos_settings
from .doorbell import redis_lists
from .models import Execution
from .store.lanes import configured_limit

logger = logging.getLogger("polos.status")

ACTIVE = (QUEUED, RUNNING, WAITING)
MAX_LANES_PER_QUEUE = 100


def default_queue() -> str:
    """The Celery queue of executions without a named queue."""
    return str(polos_settings.DEFAULT_QUEUE or getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", None) or "celery")


def workers(project_id: str | None = None) -> list[dict[str, Any]] | None:
    """Live workers (``None`` when presence is unknown: no Redis configured or reachable).

    Each is its presence record plus ``running``: executions (of ``project_id``, or of every project
    when ``None``) whose lease it holds now.
    """
    found = presence.live_workers()
    if found is None:
        return None
    rows = Execution.objects.filter(status=RUNNING, lease_owner__isnull=False)
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    running = {row["lease_owner"]: row["n"] for row in rows.values("lease_owner").annotate(n=Count("id"))}
    return [{**w, "running": _running_for(w, running)} for w in found]


def _running_for(worker: dict[str, Any], owners: dict[str, int]) -> int:
    # A lease names the process holding it, ``host:pid`` (polos.runtime.worker_identity): the
    # worker's own process or one of its pool's children.
    host = worker.get("host")
    pids = worker.get("pids") or [worker.get("pid")]
    return sum(owners.get(f"{host}:{pid}", 0) for pid in pids if pid is not None)


def workflow_availability(live: list[dict[str, Any]] | None = None) -> dict[str, list[str]] | None:
    """Workflow id -> hostnames of the live workers serving it (``None`` when presence is unknown)."""
    if live is None:
        live = presence.live_workers()
        if live is None:
            return None
    served: dict[str, list[str]] = {}
    for worker in live:
        for workflow_id in worker.get("workflows") or ():
            served.setdefault(str(workflow_id), []).append(str(worker["hostname"]))
    return served


def broker_backlog(names: list[str]) -> dict[str, int | None]:
    """Messages waiting in each Celery queue of the broker (``None`` where it cannot say)."""
    backlog: dict[str, int | None] = dict.fromkeys(names)
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    if not names or not broker.startswith(("redis://", "rediss://", "unix://")):
        return backlog
    try:
        import redis

        client = redis.Redis.from_url(broker, socket_timeout=2, socket_connect_timeout=2)
        try:
            pipe = client.pipeline(transaction=False)
            lists = [redis_lists(name) for name in names]  # kombu keeps a list per priority step
            for keys in lists:
                for key in keys:
                    pipe.llen(key)
            lengths = iter(pipe.execute())
        finally:
            client.close()
    except Exception:
        logger.warning("could not read Celery queue lengths from the broker", exc_info=True)
        return backlog
    for name, keys in zip(names, lists, strict=True):
        backlog[name] = sum(int(next(lengths)) for _ in keys)
    return backlog


def queues(project_id: str) -> dict[str, Any]:
    """Per queue: broker backlog, the project's active executions by status and by lane, limits, workers.

    Lists every queue that has active executions in the project, that a live worker consumes, or
    that ``POLOS["QUEUES"]`` configures.  Returns ``{"queues": [...], "workers_known": bool}``.
    """
    default = default_queue()
    entries: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        if name not in entries:
            entries[name] = {
                "name": name,
                "backlog": None,
                **dict.fromkeys(ACTIVE, 0),
                "concurrency_limit": configured_limit(name),
                "lanes": [],
                "workers": [],
            }
        return entries[name]

    active = Execution.objects.filter(project_id=project_id, status__in=ACTIVE)
    for row in active.values("queue_name", "status").annotate(n=Count("id")):
        entry(row["queue_name"] or default)[row["status"]] += row["n"]
    lanes = (
        active.filter(concurrency_limit__isnull=False)
        .values("queue_name", "concurrency_key", "status")
        .annotate(n=Count("id"), limit=Max("concurrency_limit"))
        .order_by("queue_name", "concurrency_key")
    )
    per_lane: dict[tuple[str, str | None], dict[str, Any]] = {}
    for row in lanes:
        name = row["queue_name"] or default
        lane = per_lane.setdefault(
            (name, row["concurrency_key"]),
            {"concurrency_key": row["concurrency_key"], **dict.fromkeys(ACTIVE, 0), "concurrency_limit": None},
        )
        lane[row["status"]] += row["n"]
        lane["concurrency_limit"] = max(filter(None, [lane["concurrency_limit"], row["limit"]]), default=None)
    for (name, _key), lane in per_lane.items():
        lanes_of = entry(name)["lanes"]
        if len(lanes_of) < MAX_LANES_PER_QUEUE:
            lanes_of.append(lane)
    for name in polos_settings.QUEUES or {}:
        entry(str(name))
    live = presence.live_workers()
    for worker in live or ():
        for name in worker.get("queues") or ():
            entry(str(name))["workers"].append(str(worker["hostname"]))
    if not entries:
        entry(default)
    for name, length in broker_backlog(sorted(entries)).items():
        entries[name]["backlog"] = length
    for item in entries.values():
        item["lanes"].sort(key=lambda lane: (lane["concurrency_key"] is not None, lane["concurrency_key"] or ""))
    return {"queues": [entries[name] for name in sorted(entries)], "workers_known": live is not None}
