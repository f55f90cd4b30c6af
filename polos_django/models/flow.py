"""Tables of flow control: event triggers and their cursors, cron schedules and their occurrences.

Concurrency lanes need no table: a lane's running executions are counted on ``polos_execution``
(see ``polos_django.store.lanes``).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.timezone import now as _now

__all__ = ["EventTrigger", "MissedPolicy", "Schedule", "ScheduleOccurrence", "TriggerCursor"]


class EventTrigger(models.Model):
    """A workflow started by events on a topic (``@workflow(trigger_on_event=...)``)."""

    workflow_id = models.CharField(max_length=200, unique=True)
    topic = models.CharField(max_length=512, db_index=True)
    batch_size = models.IntegerField(default=1)
    batch_timeout_seconds = models.FloatField(null=True, blank=True)
    queue_name = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=_now)
    updated_at = models.DateTimeField(default=_now)

    class Meta:
        db_table = "polos_event_trigger"
        ordering = ["workflow_id"]

    def __str__(self) -> str:
        return f"{self.workflow_id} on {self.topic!r}"


class TriggerCursor(models.Model):
    """How far one trigger consumed its topic in one project (events up to ``last_sequence``)."""

    trigger = models.ForeignKey(EventTrigger, on_delete=models.CASCADE, related_name="cursors")
    project_id = models.CharField(max_length=64, default="default")
    last_sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=_now)

    class Meta:
        db_table = "polos_trigger_cursor"
        constraints = [models.UniqueConstraint(fields=["trigger", "project_id"], name="polos_trigger_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.trigger_id}/{self.project_id} @ {self.last_sequence}"


def new_schedule_id() -> str:
    return f"sched_{secrets.token_hex(8)}"


class MissedPolicy(models.TextChoices):
    """What to do with occurrences missed while nothing was running (older than the grace period)."""

    RUN_ONCE = "run_once"
    SKIP = "skip"


class Schedule(models.Model):
    """A cron schedule of a workflow; its django-celery-beat ``PeriodicTask`` calls ``polos.fire_schedule``."""

    id = models.CharField(primary_key=True, max_length=64, default=new_schedule_id, editable=False)
    project_id = models.CharField(max_length=64, default="default")
    workflow_id = models.CharField(max_length=200, db_index=True)
    key = models.CharField(max_length=255, default="global")
    cron = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    paused = models.BooleanField(default=False)
    missed_policy = models.CharField(max_length=16, choices=MissedPolicy.choices, default=MissedPolicy.RUN_ONCE)
    # The last occurrence handled (fired, or skipped by the missed policy); later ones are due.
    last_occurrence = models.DateTimeField()
    # The next occurrence due (None when paused or when the cron never matches again); the reaper
    # fires schedules whose beat is late or missing.
    next_occurrence = models.DateTimeField(null=True, blank=True, db_index=True)
    queue_name = models.CharField(max_length=200, null=True, blank=True)
    # The name of its django-celery-beat PeriodicTask (by name, so that this app's migrations do
    # not depend on django_celery_beat's).
    periodic_task_name = models.CharField(max_length=200, null=True, blank=True)
    # Written from ``@workflow(schedule=...)`` by a worker (not by the API or SDK): removed again when
    # a worker serving the workflow no longer declares it.
    declared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=_now)

    class Meta:
        db_table = "polos_schedule"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project_id", "workflow_id", "key"], name="polos_schedule_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} [{self.key}] {self.cron} {self.timezone}"


class ScheduleOccurrence(models.Model):
    """One fired occurrence: the unique (schedule, occurrence) row makes each fire exactly once."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="occurrences")
    occurrence = models.DateTimeField()
    execution_id = models.CharField(max_length=36, null=True, blank=True)
    created_at = models.DateTimeField(default=_now)

    class Meta:
        db_table = "polos_schedule_occurrence"
        ordering = ["-occurrence"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "occurrence"], name="polos_schedule_occurrence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} @ {self.occurrence.isoformat()}"
