"""The tables of the runtime: executions, memoized steps, waits and events.

The hot path (claim, record a step, wait, finish) uses hand-written SQL against these tables (see
``polos_django.store``); the models serve migrations, the admin and everything else.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

__all__ = [
    "ApiKey",
    "Event",
    "Execution",
    "ExecutionStatus",
    "Project",
    "Step",
    "Wait",
    "new_api_key_id",
    "new_project_id",
]


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Execution(models.Model):
    """One run of a workflow, agent or tool, from invoke to completion."""

    id = models.CharField(primary_key=True, max_length=36, editable=False)
    project_id = models.CharField(max_length=64, default="default", db_index=True)
    workflow_id = models.CharField(max_length=200, db_index=True)
    workflow_type = models.CharField(max_length=20, default="workflow")
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED)
    payload = models.TextField(null=True, blank=True)
    result = models.TextField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    initial_state = models.TextField(null=True, blank=True)
    state = models.TextField(null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        db_column="parent_execution_id",
    )
    root_execution_id = models.CharField(max_length=36, db_index=True)
    root_workflow_id = models.CharField(max_length=200)
    step_key = models.CharField(max_length=255, null=True, blank=True)
    batch_index = models.IntegerField(null=True, blank=True)
    session_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    user_id = models.CharField(max_length=255, null=True, blank=True)
    queue_name = models.CharField(max_length=200, null=True, blank=True)
    concurrency_key = models.CharField(max_length=255, null=True, blank=True)
    # Flow control: the lane's limit as resolved at creation (None: unlimited) and the priority
    # within the lane (higher first, FIFO within a priority).
    concurrency_limit = models.IntegerField(null=True, blank=True)
    priority = models.IntegerField(default=0)
    retry_count = models.IntegerField(default=0)
    attempt = models.IntegerField(default=0)
    run_timeout_seconds = models.FloatField(null=True, blank=True)
    run_seconds = models.FloatField(default=0.0)
    cancel_requested = models.BooleanField(default=False)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # The Celery task id of the running attempt: a cancel past its grace period revokes it.
    celery_task_id = models.CharField(max_length=255, null=True, blank=True)
    lease_owner = models.CharField(max_length=200, null=True, blank=True)
    lease_token = models.BigIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    rung_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "polos_execution"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="polos_exec_lease_idx"),
            models.Index(fields=["status", "rung_at"], name="polos_exec_rung_idx"),
            models.Index(fields=["parent", "step_key"], name="polos_exec_parent_idx"),
            models.Index(fields=["workflow_id", "status", "created_at"], name="polos_exec_list_idx"),
            # Concurrency lanes (polos_django.store.lanes): a NULL key and '' are the same lane.
            models.Index(
                F("queue_name"),
                Coalesce("concurrency_key", Value("")),
                F("status"),
                F("priority").desc(),
                F("created_at"),
                F("id"),
                name="polos_exec_lane_idx",
            ),
        ]
        permissions = [("cancel_execution", "Can cancel executions")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.id} ({self.status})"

    @property
    def topic(self) -> str:
        return f"workflow/{self.root_workflow_id}/{self.root_execution_id}"


class Step(models.Model):
    """A memoized step result (or recorded failure); one per (execution, key)."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=255)
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    output = models.TextField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    state = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_step"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["execution", "key"], name="polos_step_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.kind}, {self.status})"


class Wait(models.Model):
    """What a waiting execution waits for: a timer, an event, a human, children."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="waits")
    kind = models.CharField(max_length=16)
    step_key = models.CharField(max_length=255)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    topic = models.CharField(max_length=512, null=True, blank=True, db_index=True)
    after_sequence = models.BigIntegerField(default=0)
    # A suspend whose notifications were not all delivered by then is delivered again by the reaper
    # (a worker died while sending); NULL once delivered, and for other kinds.
    notify_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_wait"
        constraints = [models.UniqueConstraint(fields=["execution", "step_key"], name="polos_wait_unique_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.step_key}"


class Event(models.Model):
    """An event on a topic; ``id`` is the sequence id (increasing along each topic)."""

    project_id = models.CharField(max_length=64, default="default")
    topic = models.CharField(max_length=512)
    event_type = models.CharField(max_length=255, null=True, blank=True)
    data = models.TextField(null=True, blank=True)
    execution_id = models.CharField(max_length=36, null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_event"
        ordering = ["id"]
        indexes = [models.Index(fields=["topic", "id"], name="polos_event_topic_idx")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.id} {self.event_type}"


def new_project_id() -> str:
    import secrets

    return f"proj_{secrets.token_hex(8)}"


def new_api_key_id() -> str:
    import secrets

    return f"key_{secrets.token_hex(8)}"


class Project(models.Model):
    """A tenant: executions, events and API keys belong to one project."""

    id = models.CharField(primary_key=True, max_length=64, default=new_project_id, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "polos_project"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKey(models.Model):
    """An API key of a project, stored hashed (see ``polos_django.keys`` for the format and why SHA-256)."""

    id = models.CharField(primary_key=True, max_length=64, default=new_api_key_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Identifies the key; not secret.")
    hashed_key = models.CharField(max_length=128, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "polos_api_key"
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"polos_{self.prefix}_… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
