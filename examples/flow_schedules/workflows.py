"""A weekday digest on a declared schedule, and reminders scheduled per user at run time."""

from __future__ import annotations

from polos import SchedulePayload, WorkflowContext, workflow


# Written to the database (with its django-celery-beat PeriodicTask) when a worker starts.
@workflow(
    id="flow_schedules_digest",
    schedule={"cron": "0 8 * * mon-fri", "timezone": "Europe/Paris", "key": "weekday-digest"},
)
async def digest(ctx: WorkflowContext, payload: SchedulePayload) -> str:
    # payload.timestamp is the occurrence (UTC); payload.last_timestamp the previous one that ran.
    since = payload.last_timestamp.isoformat() if payload.last_timestamp else "the beginning"
    return f"digest for {payload.timestamp:%Y-%m-%d %H:%M} UTC, covering changes since {since}"


# schedule=True: no schedule of its own; schedules are created at run time (one per user).
@workflow(id="flow_schedules_reminder", schedule=True)
async def reminder(ctx: WorkflowContext, payload: SchedulePayload) -> str:
    return f"reminder {payload.key} at {payload.timestamp.isoformat()} ({payload.timezone})"
