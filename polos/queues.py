"""Queues: named lanes with an optional concurrency limit.

A queue's limit applies per (queue, concurrency key) *lane*: ``invoke(..., concurrency_key="tenant-7")``
gives each tenant its own lane with the same limit.  Only running executions count; waiting ones do
not.  Each named queue is also the Celery queue its executions are routed to, so a deployment can
run dedicated workers per queue (``celery worker -Q llm``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .exceptions import PayloadValidationError, WorkflowDefinitionError

# Priorities are stored as 32-bit integers.
MAX_PRIORITY = 1_000_000


@dataclass(frozen=True, slots=True)
class Queue:
    """A named queue; ``concurrency_limit`` caps running executions per (queue, concurrency key).

    Args:
        name: the queue name (also the Celery queue its executions are routed to).
        concurrency_limit: maximum running executions per lane, or ``None`` for no limit.
    """

    name: str
    concurrency_limit: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise WorkflowDefinitionError("a queue needs a non-empty name, e.g. queue('emails')")
        if len(self.name) > 200:
            raise WorkflowDefinitionError(f"queue name {self.name[:40]!r}... is longer than 200 characters")
        if self.concurrency_limit is not None and (
            not isinstance(self.concurrency_limit, int) or isinstance(self.concurrency_limit, bool)
        ):
            raise WorkflowDefinitionError(
                f"queue {self.name!r}: concurrency_limit must be a whole number or None, got {self.concurrency_limit!r}"
            )
        if self.concurrency_limit is not None and self.concurrency_limit < 1:
            raise WorkflowDefinitionError(
                f"queue {self.name!r}: concurrency_limit must be at least 1 (or None for no limit), "
                f"got {self.concurrency_limit}"
            )


_DECLARED: dict[str, int] = {}
_declared_lock = threading.Lock()


def declare(spec: Queue) -> Queue:
    """Remember a queue's limit so executions routed to it by name get the same limit.

    The lowest limit declared for a name wins (two declarations disagreeing must not loosen it).
    """
    if spec.concurrency_limit is not None:
        with _declared_lock:
            current = _DECLARED.get(spec.name)
            if current is None or spec.concurrency_limit < current:
                _DECLARED[spec.name] = spec.concurrency_limit
    return spec


def declared_limit(name: str | None) -> int | None:
    """The concurrency limit declared for queue ``name`` in this process, or ``None``."""
    if name is None:
        return None
    return _DECLARED.get(name)


def queue(name: str, concurrency_limit: int | None = None) -> Queue:
    """Declare a queue: ``@workflow(queue=queue("llm", concurrency_limit=5))``."""
    return declare(Queue(name, concurrency_limit))


def as_queue(value: Any, owner: str) -> Queue | None:
    """Normalize the ``queue=`` option (name, :class:`Queue` or ``{"name", "concurrency_limit"}``)."""
    if value is None:
        return None
    if isinstance(value, Queue):
        return declare(value)
    if isinstance(value, str):
        return Queue(value)
    if isinstance(value, dict):
        unknown = set(value) - {"name", "concurrency_limit"}
        if unknown or "name" not in value:
            raise WorkflowDefinitionError(
                f"{owner}: a queue dict takes 'name' and optionally 'concurrency_limit', got keys {sorted(value)}"
            )
        return declare(Queue(value["name"], value.get("concurrency_limit")))
    raise WorkflowDefinitionError(
        f"{owner}: queue must be a name, a Queue or a dict with 'name', got {type(value).__name__}"
    )


def check_priority(priority: Any) -> int:
    """Validate an execution priority (a whole number; higher runs first within a lane)."""
    if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) > MAX_PRIORITY:
        raise PayloadValidationError(
            f"priority must be a whole number between -{MAX_PRIORITY} and {MAX_PRIORITY} (default 0), got {priority!r}"
        )
    return priority
