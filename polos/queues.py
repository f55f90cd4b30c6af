"""Queues: named lanes with an optional concurrency limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .exceptions import WorkflowDefinitionError


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


def queue(name: str, concurrency_limit: int | None = None) -> Queue:
    """Declare a queue: ``@workflow(queue=queue("llm", concurrency_limit=5))``."""
    return Queue(name, concurrency_limit)


def as_queue(value: Any, owner: str) -> Queue | None:
    """Normalize the ``queue=`` option (name, :class:`Queue` or ``{"name", "concurrency_limit"}``)."""
    if value is None or isinstance(value, Queue):
        return value
    if isinstance(value, str):
        return Queue(value)
    if isinstance(value, dict):
        unknown = set(value) - {"name", "concurrency_limit"}
        if unknown or "name" not in value:
            raise WorkflowDefinitionError(
                f"{owner}: a queue dict takes 'name' and optionally 'concurrency_limit', got keys {sorted(value)}"
            )
        return Queue(value["name"], value.get("concurrency_limit"))
    raise WorkflowDefinitionError(
        f"{owner}: queue must be a name, a Queue or a dict with 'name', got {type(value).__name__}"
    )
