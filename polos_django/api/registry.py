"""Workflows announced by ``polos.Worker`` processes, so the API can invoke and list them.

The API server process does not import user code run by separate ``polos.Worker`` processes (the
canonical ``worker.py`` / ``main.py`` split), so it cannot see those workflows in its own registry.
Each worker writes a description of what it serves to the Redis hash ``polos:workflows`` at start-up
and every ``ANNOUNCE_SECONDS`` while it runs; the API reads it.  Redis is where the rest of the
runtime's cross-process signalling already lives, and nothing here needs to be durable: a worker
re-announces itself after a Redis restart.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

from .. import live

logger = logging.getLogger("polos.api")

KEY = "polos:workflows"
ANNOUNCE_SECONDS = 30.0
# An invoke looks its workflow up here; remembering a found entry briefly saves a Redis round trip per
# request.  A worker that changes a workflow's queue is seen within this time.
LOOKUP_CACHE_SECONDS = 2.0
_found: dict[str, tuple[float, dict[str, Any]]] = {}


def describe(wf: Any, source: str = "server") -> dict[str, Any]:
    """The public description of a workflow (also what a worker announces)."""
    queue = getattr(wf, "queue", None)
    trigger = None
    if getattr(wf, "trigger_on_event", None):
        trigger = {
            "event_topic": wf.trigger_on_event,
            "batch_size": getattr(wf, "batch_size", 1),
            "batch_timeout_seconds": getattr(wf, "batch_timeout_seconds", None),
        }
    return {
        "id": wf.id,
        "description": getattr(wf, "description", None),
        "type": getattr(wf, "workflow_type", "workflow"),
        "queue": queue.name if queue is not None else None,
        "queue_concurrency_limit": queue.concurrency_limit if queue is not None else None,
        "schedule": getattr(wf, "schedule", None),
        "trigger": trigger,
        "source": source,
        "last_seen": None,
    }


def announce(workflows: list[Any], worker: str) -> bool:
    """Publish the workflows a worker serves; ``False`` when no Redis is configured or reachable."""
    client = live.redis_client()
    if client is None or not workflows:
        return False
    now = dt.datetime.now(dt.UTC).isoformat()
    mapping = {wf.id: json.dumps({**describe(wf, "worker"), "last_seen": now, "worker": worker}) for wf in workflows}
    try:
        client.hset(KEY, mapping=mapping)
    except Exception:
        logger.warning("could not announce %d workflow(s) to Redis", len(mapping), exc_info=True)
        return False
    return True


def lookup(workflow_id: str) -> dict[str, Any] | None:
    """The announcement of one workflow, or ``None`` (found ones are remembered briefly)."""
    hit = _found.get(workflow_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    entry = announced(workflow_id).get(workflow_id)
    if entry is not None:
        if len(_found) > 10_000:
            _found.clear()
        _found[workflow_id] = (time.monotonic() + LOOKUP_CACHE_SECONDS, entry)
    return entry


def forget(*workflow_ids: str) -> None:
    """Remove announcements (and this process's memory of them), e.g. between tests."""
    for workflow_id in workflow_ids:
        _found.pop(workflow_id, None)
    client = live.redis_client()
    if client is not None and workflow_ids:
        client.hdel(KEY, *workflow_ids)


def announced(workflow_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Workflows announced by workers (all, or just ``workflow_id``), keyed by id."""
    client = live.redis_client()
    if client is None:
        return {}
    try:
        if workflow_id is not None:
            raw = client.hget(KEY, workflow_id)
            items = {workflow_id: raw} if raw is not None else {}
        else:
            items = client.hgetall(KEY)
    except Exception:
        logger.warning("could not read announced workflows from Redis", exc_info=True)
        return {}
    found = {}
    for key, value in items.items():
        try:
            entry = json.loads(value)
        except ValueError:
            continue
        found[key.decode() if isinstance(key, bytes) else str(key)] = entry
    return found
