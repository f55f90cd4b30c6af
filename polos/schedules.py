"""Cron schedules of workflows (``polos.schedules``).

::

    from polos import schedules

    schedule_id = await schedules.create(client, daily_report, "0 9 * * 1-5", timezone="Europe/Paris")
    await schedules.pause(client, schedule_id)
    await schedules.resume(client, schedule_id)
    for item in await schedules.list(client):
        print(item["workflow_id"], item["cron"], item["next_occurrence"])
    await schedules.delete(client, schedule_id)

A schedule is identified by ``(workflow, key)``: creating it again with the same key updates it.
Every occurrence starts exactly one execution, with a :class:`~polos.SchedulePayload`; times are
wall-clock times in ``timezone`` (DST handled).  ``client`` is a ``PolosClient``, a ``Polos``, or
``polos_django.client.LocalClient``.
"""

from __future__ import annotations

import builtins
from typing import Any

from .cron import validate_cron, validate_timezone
from .exceptions import ConfigurationError, PayloadValidationError, WorkflowDefinitionError
from .workflow import Workflow

__all__ = ["create", "delete", "list", "pause", "resume"]

_list = builtins.list


def _method(client: Any, name: str) -> Any:
    method = getattr(client, name, None)
    if method is None:
        raise ConfigurationError(
            f"{type(client).__name__} cannot manage schedules: use a PolosClient, Polos or "
            "polos_django.client.LocalClient"
        )
    return method


def _workflow_id(workflow: Workflow | str) -> str:
    if isinstance(workflow, Workflow):
        if workflow.trigger_on_event:
            raise PayloadValidationError(
                f"workflow {workflow.id!r} is event-triggered; it cannot also be scheduled: "
                "schedule a workflow that invokes it instead"
            )
        return workflow.id
    if isinstance(workflow, str) and workflow:
        return workflow
    raise PayloadValidationError(f"schedules take a workflow or a workflow id, got {workflow!r}")


async def create(
    client: Any,
    workflow: Workflow | str,
    cron: str,
    timezone: str = "UTC",
    key: str = "global",
    *,
    missed_policy: str = "run_once",
) -> str:
    """Create (or, for an existing ``key``, update) the schedule of ``workflow``; returns its id.

    Args:
        client: the client to call.
        workflow: the workflow or its id.
        cron: five fields, ``minute hour day-of-month month day-of-week``.
        timezone: an IANA name; the cron's times are wall-clock times there.
        key: one workflow can have several schedules under different keys (e.g. one per user).
        missed_policy: for occurrences missed while nothing ran: ``"run_once"`` or ``"skip"``.

    Raises:
        PayloadValidationError: an invalid cron (naming the field) or timezone, or an
            event-triggered workflow.
    """
    workflow_id = _workflow_id(workflow)
    try:
        cron = validate_cron(cron)
        timezone = validate_timezone(timezone)
    except WorkflowDefinitionError as exc:
        raise PayloadValidationError(str(exc)) from None
    result = await _method(client, "create_schedule")(
        workflow_id, cron, timezone=timezone, key=key, missed_policy=missed_policy
    )
    return str(result)


async def list(client: Any, workflow: Workflow | str | None = None) -> _list[dict[str, Any]]:
    """The project's schedules (of one workflow if given), as dicts."""
    workflow_id = None if workflow is None else _workflow_id(workflow)
    return _list(await _method(client, "list_schedules")(workflow_id))


async def pause(client: Any, schedule_id: str) -> None:
    """Stop firing (occurrences that fall while paused never fire)."""
    await _method(client, "pause_schedule")(schedule_id)


async def resume(client: Any, schedule_id: str) -> None:
    """Fire again, from the next occurrence on."""
    await _method(client, "resume_schedule")(schedule_id)


async def delete(client: Any, schedule_id: str) -> None:
    """Delete the schedule."""
    await _method(client, "delete_schedule")(schedule_id)
