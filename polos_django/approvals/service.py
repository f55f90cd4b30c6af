"""Look suspends up and answer them, recording who answered (shared by the page, admin and Slack)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from polos.exceptions import AlreadyAnsweredError, ExecutionNotFoundError, NotResumableError
from polos.store import WAIT_SUSPEND, ResumeRequest

from ..models import Approval, Event, Execution, Wait
from ..store import get_store
from .forms import FormSpec

PENDING = "pending"
ANSWERED = "answered"
EXPIRED = "expired"
CLOSED = "closed"


@dataclass(slots=True)
class Suspend:
    """One suspend of an execution and where it stands."""

    execution: Execution
    step_key: str
    state: str  # PENDING, ANSWERED, EXPIRED or CLOSED
    data: dict[str, Any]
    spec: FormSpec
    suspended_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    answered_by: str | None = None
    answered_at: dt.datetime | None = None
    answered_via: str | None = None


def suspend_event(execution_id: str, step_key: str) -> Event | None:
    return Event.objects.filter(execution_id=execution_id, event_type=f"suspend_{step_key}").order_by("-id").first()


def event_data(event: Event | None) -> dict[str, Any]:
    if event is None or not event.data:
        return {}
    try:
        data = json.loads(event.data)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"value": data}


def find_suspend(execution_id: str, step_key: str) -> Suspend:
    """The suspend ``step_key`` of ``execution_id``; raises ``ExecutionNotFoundError``."""
    execution = Execution.objects.filter(id=execution_id).first()
    if execution is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}")
    event = suspend_event(execution_id, step_key)
    data = event_data(event)
    suspend = Suspend(
        execution=execution,
        step_key=step_key,
        state=CLOSED,
        data=data,
        spec=FormSpec.from_suspend(data),
        suspended_at=event.created_at if event is not None else None,
    )
    wait = Wait.objects.filter(execution_id=execution_id, step_key=step_key, kind=WAIT_SUSPEND).first()
    if wait is not None:
        suspend.expires_at = wait.expires_at
        expired = wait.expires_at is not None and wait.expires_at <= timezone.now()
        suspend.state = EXPIRED if expired else PENDING
        return suspend
    approval = Approval.objects.filter(execution_id=execution_id, step_key=step_key).first()
    if approval is not None:
        suspend.state = ANSWERED
        suspend.answered_by, suspend.answered_at, suspend.answered_via = (
            approval.answered_by,
            approval.answered_at,
            approval.channel,
        )
        return suspend
    resumed = Event.objects.filter(execution_id=execution_id, event_type=f"resume_{step_key}").order_by("-id").first()
    if resumed is not None:
        suspend.state = ANSWERED
        suspend.answered_by, suspend.answered_at, suspend.answered_via = "the API", resumed.created_at, "api"
        return suspend
    step = execution.steps.filter(key=step_key).first()
    if step is not None and _error_type(step.error) == "StepTimeoutError":
        suspend.state = EXPIRED
    return suspend


def _error_type(error: str | None) -> str | None:
    try:
        value = json.loads(error or "null")
    except ValueError:
        return None
    return value.get("type") if isinstance(value, dict) else None


def answer(execution_id: str, step_key: str, data: Any, *, answered_by: str, channel: str) -> Approval:
    """Resume the suspend with ``data`` and record who answered, in one transaction.

    Raises:
        AlreadyAnsweredError: someone answered first (links and buttons work once).
        NotResumableError: nothing waits on that step any more (timed out, cancelled).
        ExecutionNotFoundError: no such execution.
    """
    execution = Execution.objects.filter(id=execution_id).first()
    if execution is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}")
    with transaction.atomic():
        try:
            with transaction.atomic():
                approval = Approval.objects.create(
                    execution_id=execution_id,
                    step_key=step_key,
                    answered_by=answered_by[:255],
                    channel=channel,
                    data=json.dumps(data, default=str),
                )
        except IntegrityError:
            previous = Approval.objects.filter(execution_id=execution_id, step_key=step_key).first()
            who = f" by {previous.answered_by}" if previous is not None else ""
            raise AlreadyAnsweredError(f"step {step_key!r} was already answered{who}", step_key=step_key) from None
        try:
            get_store().resume(ResumeRequest(execution.root_execution_id, step_key, data, execution_id=execution_id))
        except NotResumableError as exc:
            if Event.objects.filter(execution_id=execution_id, event_type=f"resume_{step_key}").exists():
                raise AlreadyAnsweredError(f"step {step_key!r} was already answered", step_key=step_key) from exc
            raise
    return approval
