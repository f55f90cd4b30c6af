"""Cron schedules: one django-celery-beat ``PeriodicTask`` per schedule, fired exactly once per occurrence.

Each :class:`~polos_django.models.Schedule` has a ``PeriodicTask`` (visible in the Django admin)
that calls the Celery task ``polos.fire_schedule`` with the schedule id.  Beat is only the alarm
clock: :func:`fire` computes the due occurrences itself from the cron expression, the timezone and
the last occurrence handled, and writes a unique ``(schedule, occurrence)`` row with each execution
in one transaction.  So two beats running by mistake, a late beat or a beat that missed a tick
never double-fire nor skip; the reaper also fires schedules whose beat is more than
``SCHEDULE_LATE_SECONDS`` late (or not running at all).

Missed occurrences: occurrences older than ``POLOS["SCHEDULE_MISSED_GRACE_SECONDS"]`` when they
are fired (everything was down) follow the schedule's ``missed_policy``: ``run_once`` (default)
starts one execution for the most recent missed occurrence, ``skip`` starts none.  Occurrences
within the grace period always fire, each once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction

from polos.cron import next_occurrence, occurrences, parse_cron, validate_cron, validate_timezone
from polos.exceptions import PayloadValidationError, ScheduleNotFoundError, WorkflowDefinitionError
from polos.store import NewExecution, utcnow
from polos.workflow import get_workflow

from .conf import polos_settings
from .models import MissedPolicy, Schedule, ScheduleOccurrence

logger = logging.getLogger("polos.schedules")

FIRE_TASK = "polos.fire_schedule"
# The reaper fires a schedule itself when its occurrence is this late (beat had its chance).
SCHEDULE_LATE_SECONDS = 10.0
MAX_OCCURRENCES_PER_FIRE = 100_000


def _check(workflow_id: str, cron: str, timezone: str, key: str, missed_policy: str) -> tuple[str, str]:
    try:
        cron = validate_cron(cron)
        timezone = validate_timezone(timezone)
    except WorkflowDefinitionError as exc:
        raise PayloadValidationError(str(exc)) from None
    if not isinstance(key, str) or not key or len(key) > 255:
        raise PayloadValidationError(f"schedule key must be a non-empty string of at most 255 characters, got {key!r}")
    if missed_policy not in MissedPolicy.values:
        raise PayloadValidationError(
            f"missed_policy must be one of {sorted(MissedPolicy.values)}, got {missed_policy!r}"
        )
    wf = get_workflow(workflow_id)
    if wf is not None and getattr(wf, "trigger_on_event", None):
        raise PayloadValidationError(
            f"workflow {workflow_id!r} is event-triggered (trigger_on_event={wf.trigger_on_event!r}); "
            "it cannot also be scheduled: schedule a workflow that invokes it instead"
        )
    return cron, timezone


def _queue_of(workflow_id: str) -> str | None:
    wf = get_workflow(workflow_id)
    if wf is not None:
        return wf.queue.name if getattr(wf, "queue", None) is not None else None
    try:
        from .api import registry

        return registry.announced(workflow_id).get(workflow_id, {}).get("queue")
    except Exception:  # no Redis: the default queue
        return None


def create(
    workflow_id: str,
    cron: str,
    timezone: str = "UTC",
    key: str = "global",
    *,
    project_id: str = "default",
    missed_policy: str = MissedPolicy.RUN_ONCE,
    now: dt.datetime | None = None,
    declared: bool = False,
) -> Schedule:
    """Create the schedule of ``(workflow, key)``, or update it (same id) if it exists.

    The first occurrence is the first one after now: creating a schedule never back-fills.
    ``declared``: written from ``@workflow(schedule=...)`` (see :func:`sync_declared`); a schedule
    created or updated through the API or SDK is not, and code changes never remove it.

    Raises:
        PayloadValidationError: an invalid cron (the message names the field), timezone, key or
            policy, or an event-triggered workflow.
    """
    cron, timezone = _check(workflow_id, cron, timezone, key, missed_policy)
    now = now or utcnow()
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().filter(project_id=project_id, workflow_id=workflow_id, key=key)
        existing = schedule.first()
        if existing is None:
            existing = Schedule(project_id=project_id, workflow_id=workflow_id, key=key, last_occurrence=now)
        elif existing.cron != cron or existing.timezone != timezone:
            existing.last_occurrence = max(existing.last_occurrence, now)
        existing.cron = cron
        existing.timezone = timezone
        existing.missed_policy = missed_policy
        existing.declared = declared
        existing.queue_name = _queue_of(workflow_id)
        existing.next_occurrence = (
            None if existing.paused else next_occurrence(cron, timezone, existing.last_occurrence)
        )
        try:
            with transaction.atomic():
                existing.save()
        except IntegrityError:  # created concurrently with the same key: update that one
            return create(
                workflow_id,
                cron,
                timezone,
                key,
                project_id=project_id,
                missed_policy=missed_policy,
                now=now,
                declared=declared,
            )
        _sync_periodic_task(existing)
    return existing


def _sync_periodic_task(schedule: Schedule) -> None:
    """Create or update the schedule's django-celery-beat ``PeriodicTask`` (if the app is installed)."""
    from django.apps import apps

    if not apps.is_installed("django_celery_beat"):
        return
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    minute, hour, day_of_month, month, day_of_week = schedule.cron.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month,
        day_of_week=day_of_week,
        timezone=schedule.timezone,
    )
    name = schedule.periodic_task_name or f"polos:{schedule.id}"
    PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            "task": FIRE_TASK,
            "crontab": crontab,
            "interval": None,
            "args": json.dumps([schedule.id]),
            "enabled": not schedule.paused,
            "description": f"Polos schedule of workflow {schedule.workflow_id!r} (key {schedule.key!r})",
        },
    )
    if schedule.periodic_task_name != name:
        schedule.periodic_task_name = name
        Schedule.objects.filter(pk=schedule.pk).update(periodic_task_name=name)


def _get(schedule_id: str, project_id: str | None) -> Schedule:
    query = Schedule.objects.filter(pk=schedule_id)
    if project_id is not None:
        query = query.filter(project_id=project_id)
    schedule = query.first()
    if schedule is None:
        raise ScheduleNotFoundError(f"no schedule {schedule_id!r}")
    return schedule


def list_schedules(project_id: str | None = "default", workflow_id: str | None = None) -> list[Schedule]:
    """The schedules of a project (of one workflow if given), oldest first."""
    query = Schedule.objects.all()
    if project_id is not None:
        query = query.filter(project_id=project_id)
    if workflow_id is not None:
        query = query.filter(workflow_id=workflow_id)
    return list(query.order_by("created_at"))


def set_paused(
    schedule_id: str, paused: bool, *, project_id: str | None = None, now: dt.datetime | None = None
) -> Schedule:
    """Pause or resume a schedule.  Occurrences that fall while it is paused never fire.

    Raises:
        ScheduleNotFoundError: no such schedule (in ``project_id``).
    """
    now = now or utcnow()
    with transaction.atomic():
        schedule = _get(schedule_id, project_id)
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if schedule.paused != paused:
            schedule.paused = paused
            if not paused:
                schedule.last_occurrence = max(schedule.last_occurrence, now)
            schedule.next_occurrence = (
                None if paused else next_occurrence(schedule.cron, schedule.timezone, schedule.last_occurrence)
            )
            schedule.save()
            _sync_periodic_task(schedule)
    return schedule


def delete(schedule_id: str, *, project_id: str | None = None) -> None:
    """Delete a schedule and its ``PeriodicTask``.

    Raises:
        ScheduleNotFoundError: no such schedule (in ``project_id``).
    """
    from django.apps import apps

    with transaction.atomic():
        schedule = _get(schedule_id, project_id)
        if schedule.periodic_task_name and apps.is_installed("django_celery_beat"):
            from django_celery_beat.models import PeriodicTask

            PeriodicTask.objects.filter(name=schedule.periodic_task_name).delete()
        schedule.delete()


def fire(schedule_id: str, now: dt.datetime | None = None) -> list[str]:
    """Start the executions of the schedule's due occurrences; returns their ids (see module docstring)."""
    from .store import get_store

    now = now or utcnow()
    grace = dt.timedelta(seconds=float(polos_settings.SCHEDULE_MISSED_GRACE_SECONDS))
    store = get_store()
    started: list[str] = []
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None or schedule.paused:
            return []
        fields = parse_cron(schedule.cron)
        due = []
        for occurrence in occurrences(fields, schedule.timezone, schedule.last_occurrence, now):
            due.append(occurrence)
            if len(due) >= MAX_OCCURRENCES_PER_FIRE:
                break
        if not due:
            return []
        on_time = [o for o in due if o >= now - grace]
        missed = [o for o in due if o < now - grace]
        fire_now = on_time
        if missed:
            if schedule.missed_policy == MissedPolicy.RUN_ONCE:
                fire_now = [missed[-1], *on_time]
            logger.warning(
                "schedule %s of %r missed %d occurrence(s) (%s .. %s); policy %s",
                schedule.id,
                schedule.workflow_id,
                len(missed),
                missed[0].isoformat(),
                missed[-1].isoformat(),
                schedule.missed_policy,
            )
        previous = (
            ScheduleOccurrence.objects.filter(schedule=schedule)
            .order_by("-occurrence")
            .values_list("occurrence", flat=True)
        ).first()
        upcoming = next_occurrence(fields, schedule.timezone, due[-1])
        with connection.cursor() as cursor:
            for index, occurrence in enumerate(fire_now):
                following = fire_now[index + 1] if index + 1 < len(fire_now) else upcoming
                execution_id = _fire_one(store, cursor, schedule, occurrence, previous, following)
                if execution_id is not None:
                    started.append(execution_id)
                    previous = occurrence
        schedule.last_occurrence = due[-1]
        schedule.next_occurrence = upcoming
        schedule.save(update_fields=["last_occurrence", "next_occurrence"])
    return started


def _fire_one(
    store: Any,
    cursor: Any,
    schedule: Schedule,
    occurrence: dt.datetime,
    previous: dt.datetime | None,
    upcoming: dt.datetime | None,
) -> str | None:
    try:
        with transaction.atomic():
            row = ScheduleOccurrence.objects.create(schedule=schedule, occurrence=occurrence)
    except IntegrityError:  # already fired (belt and braces: the row lock makes this rare)
        return None
    payload = {
        "timestamp": occurrence.isoformat(),
        "last_timestamp": previous.isoformat() if previous else None,
        "timezone": schedule.timezone,
        "schedule_id": schedule.id,
        "key": schedule.key,
        "upcoming": upcoming.isoformat() if upcoming else None,
    }
    request = NewExecution(
        workflow_id=schedule.workflow_id,
        payload=json.dumps(payload),
        project_id=schedule.project_id,
        queue_name=schedule.queue_name,
    )
    record = store._insert_execution(cursor, request, None, None)
    ScheduleOccurrence.objects.filter(pk=row.pk).update(execution_id=record.id)
    return str(record.id)


def fire_late(now: dt.datetime | None = None) -> int:
    """Fire schedules whose next occurrence is more than ``SCHEDULE_LATE_SECONDS`` overdue (reaper)."""
    now = now or utcnow()
    late = now - dt.timedelta(seconds=SCHEDULE_LATE_SECONDS)
    ids = list(Schedule.objects.filter(paused=False, next_occurrence__lte=late).values_list("id", flat=True)[:100])
    return sum(len(fire(schedule_id, now)) for schedule_id in ids)


def sync_declared(workflows: Iterable[Any], project_id: str = "default") -> int:
    """Create or update the schedules declared with ``@workflow(schedule="<cron>")``; returns how many.

    A declared schedule that the code of a served workflow no longer declares (the ``schedule=`` was
    removed, or its key changed) is deleted with its ``PeriodicTask``.  Schedules created through
    the API or SDK are left alone, and so are those of workflows this process does not serve.
    """
    kept: dict[str, str | None] = {}  # served workflow id -> the key it declares (None: no schedule)
    for wf in workflows:
        spec = getattr(wf, "schedule", None)
        kept[wf.id] = None
        if spec and spec.get("cron"):
            kept[wf.id] = spec.get("key", "global")
            create(wf.id, spec["cron"], spec.get("timezone", "UTC"), kept[wf.id], project_id=project_id, declared=True)
    declared = Schedule.objects.filter(project_id=project_id, workflow_id__in=list(kept), declared=True)
    for schedule in declared:
        if schedule.key != kept[schedule.workflow_id]:
            logger.info("workflow %s no longer declares schedule %s: deleted", schedule.workflow_id, schedule)
            with contextlib.suppress(ScheduleNotFoundError):  # deleted concurrently
                delete(schedule.id, project_id=project_id)
    return sum(key is not None for key in kept.values())


def as_dict(schedule: Schedule) -> dict[str, Any]:
    """A schedule as the API and the SDK return it."""
    return {
        "id": schedule.id,
        "workflow_id": schedule.workflow_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "key": schedule.key,
        "paused": schedule.paused,
        "missed_policy": schedule.missed_policy,
        "last_occurrence": schedule.last_occurrence.isoformat() if schedule.last_occurrence else None,
        "next_occurrence": schedule.next_occurrence.isoformat() if schedule.next_occurrence else None,
        "project_id": schedule.project_id,
        "created_at": schedule.created_at.isoformat(),
    }
