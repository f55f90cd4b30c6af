"""Call the channels when a suspend commits, and update what they sent once it is answered.

:func:`on_committed` is called with every batch of committed events (``polos_django.live.publish``,
after the transaction): it hands ``suspend_*`` events (notify), ``resume_*`` events (update the sent
messages) and the finish of executions started from a channel (reply there) to a small background
thread pool, so neither the worker running the workflow nor the request that answered waits for
Slack or a mail server. A channel that fails or times out is recorded in the execution's trace
(``notification_failed`` events, ``Notification`` rows) and never fails the workflow.  A delivery
that never finished (its process died) is made again by the reaper (:mod:`.recovery`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connections, transaction

from polos.notifiers import Channel, ChannelContext, Resolution, SuspendNotification, build_notification
from polos.notifiers.suspends import channel_overrides
from polos.store import EventRecord, NewEvent

from ..conf import polos_settings
from . import recovery
from .config import channel_by_id, configured_channels

logger = logging.getLogger("polos.notify")

SENT_EVENT = "notification_sent"
FAILED_EVENT = "notification_failed"
FINISH_TYPES = ("workflow_finish", "agent_finish")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_pending: set[Future[None]] = set()


def on_committed(events: Sequence[EventRecord]) -> None:
    """Queue the notification work of committed events (never raises into the caller)."""
    try:
        jobs: list[tuple[Callable[[EventRecord], None], EventRecord]] = []
        for event in events:
            kind = event.event_type or ""
            if not event.execution_id:
                continue
            if kind.startswith("suspend_"):
                jobs.append((deliver, event))
            elif kind.startswith("resume_"):
                jobs.append((resolve, event))
            elif kind in FINISH_TYPES:
                jobs.append((reply_to_origin, event))
        if not jobs or not configured_channels():
            return
        for job, event in jobs:
            submit(job, event)
    except Exception:
        logger.exception("could not queue notifications")


def submit(job: Callable[[EventRecord], None], event: EventRecord) -> None:
    """Run ``job(event)`` on this process's notification threads."""
    global _executor, _executor_pid
    with _lock:
        if _executor is None or _executor_pid != os.getpid():  # a forked worker child gets its own pool
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="polos-notify")
            _executor_pid = os.getpid()
            _pending.clear()
        future = _executor.submit(_run, job, event)
        _pending.add(future)
    future.add_done_callback(_pending.discard)


def _run(job: Callable[[EventRecord], None], event: EventRecord) -> None:
    try:
        job(event)
    except Exception:
        logger.exception("notification work for event %s failed", event.sequence_id)
    finally:
        connections.close_all()  # this pool thread's connections only


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until the queued notification work is done (tests, clean shutdown); ``False`` on timeout."""
    with _lock:
        pending = list(_pending)
    done = True
    for future in pending:
        try:
            future.result(timeout)
        except TimeoutError:
            done = False
    return done


# --- the jobs ------------------------------------------------------------------------------------


def deliver(event: EventRecord) -> None:
    """Send the notification of a ``suspend_{key}`` event through every channel it is meant for."""
    from ..models import ChannelOrigin, Execution

    execution = Execution.objects.filter(id=event.execution_id).first()
    if execution is None:
        return
    data = event.data if isinstance(event.data, dict) else {"value": event.data}
    step_key = (event.event_type or "")[len("suspend_") :]
    origin = ChannelOrigin.objects.filter(execution_id=execution.root_execution_id).first()
    context = ChannelContext(channel_id=origin.channel_id, source=_loads(origin.source)) if origin else None
    base = build_notification(execution.root_workflow_id, execution.id, step_key, data, channel_context=context)
    targets: list[tuple[Channel, SuspendNotification]] = []
    for channel in configured_channels():
        overrides = channel_overrides(data, channel.id)
        if overrides is False:
            continue
        notification = base.model_copy(update={"channel_overrides": overrides or None})
        if context is not None and context.channel_id != channel.id:
            notification.channel_context = None  # thread routing only for the channel it came from
        targets.append((channel, notification))
    if targets:
        outcomes = asyncio.run(_notify_all(targets))
        _record(execution, step_key, outcomes, base.title)
    recovery.delivered(execution.id, step_key)


async def _notify_all(
    targets: list[tuple[Channel, SuspendNotification]],
) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    timeout = float(polos_settings.NOTIFY_TIMEOUT_SECONDS)

    async def one(channel: Channel, notification: SuspendNotification) -> tuple[str, dict[str, Any] | None, str | None]:
        try:
            metadata = await asyncio.wait_for(channel.notify(notification), timeout)
        except TimeoutError:
            return channel.id, None, f"timed out after {timeout:g} s"
        except Exception as exc:
            return channel.id, None, f"{type(exc).__name__}: {exc}"
        return channel.id, metadata if isinstance(metadata, dict) else {}, None

    return list(await asyncio.gather(*(one(c, n) for c, n in targets)))


def _record(
    execution: Any, step_key: str, outcomes: list[tuple[str, dict[str, Any] | None, str | None]], title: str | None
) -> None:
    from ..models import Notification
    from ..store.events import insert_events

    events = []
    rows = []
    for channel_id, metadata, error in outcomes:
        if error is None:
            detail = {**(metadata or {}), "title": title}
            rows.append(Notification(execution=execution, step_key=step_key, channel=channel_id, status="sent",
                                     detail=json.dumps(detail, default=str)))  # fmt: skip
            events.append(NewEvent(SENT_EVENT, {"channel": channel_id, "step_key": step_key}))
        else:
            logger.warning("notifying %s of %s/%s failed: %s", channel_id, execution.id, step_key, error)
            rows.append(Notification(execution=execution, step_key=step_key, channel=channel_id, status="failed",
                                     detail=error[:2000]))  # fmt: skip
            events.append(NewEvent(FAILED_EVENT, {"channel": channel_id, "step_key": step_key, "error": error[:500]}))
    with transaction.atomic():
        Notification.objects.bulk_create(rows)
        with connections["default"].cursor() as cursor:
            insert_events(cursor, execution.topic, events, execution_id=execution.id, project_id=execution.project_id)


def resolve(event: EventRecord) -> None:
    """A ``resume_{key}`` event: let every channel that notified about the suspend update its message."""
    from ..models import Approval, Notification

    step_key = (event.event_type or "")[len("resume_") :]
    sent = list(Notification.objects.filter(execution_id=event.execution_id, step_key=step_key, status="sent"))
    if not sent:
        return
    approval = Approval.objects.filter(execution_id=event.execution_id, step_key=step_key).first()
    resolution = Resolution(
        execution_id=str(event.execution_id),
        step_key=step_key,
        answered_by=approval.answered_by if approval else "the API",
        via=approval.channel if approval else "api",
        data=event.data,
    )

    async def update_all() -> None:
        for row in sent:
            channel = channel_by_id(row.channel)
            if channel is None:
                continue
            try:
                await asyncio.wait_for(
                    channel.resolved(_loads(row.detail), resolution), float(polos_settings.NOTIFY_TIMEOUT_SECONDS)
                )
            except Exception as exc:
                logger.warning(
                    "updating the %s notification of %s/%s failed: %s", row.channel, row.execution_id, step_key, exc
                )

    asyncio.run(update_all())


def reply_to_origin(event: EventRecord) -> None:
    """The finish of an execution started from a channel (a Slack mention): answer there."""
    from ..models import ChannelOrigin

    origin = ChannelOrigin.objects.filter(execution_id=event.execution_id).first()
    if origin is None:
        return
    channel = channel_by_id(origin.channel_id)
    if channel is None or channel.output_mode in (None, "none"):
        return
    context = ChannelContext(channel_id=origin.channel_id, source=_loads(origin.source))
    try:
        asyncio.run(asyncio.wait_for(channel.send_output(context, event), float(polos_settings.NOTIFY_TIMEOUT_SECONDS)))
    except Exception as exc:
        logger.warning("replying to %s for %s failed: %s", origin.channel_id, event.execution_id, exc)


def _loads(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
