"""Turn a suspend event's data into a :class:`SuspendNotification`."""

from __future__ import annotations

from typing import Any

from .channel import ChannelContext, SuspendNotification


def build_notification(
    workflow_id: str,
    execution_id: str,
    step_key: str,
    data: dict[str, Any],
    *,
    channel_context: ChannelContext | None = None,
) -> SuspendNotification:
    """The notification of the ``suspend_{step_key}`` event whose data is ``data``."""
    raw_form, raw_notify = data.get("_form"), data.get("_notify")
    form: dict[str, Any] = raw_form if isinstance(raw_form, dict) else {}
    notify: dict[str, Any] = raw_notify if isinstance(raw_notify, dict) else {}
    context = form.get("context")
    if not form:
        # A suspend without a form: its plain data is the context, answered with Approve / Reject.
        context = {k: v for k, v in data.items() if not str(k).startswith("_")} or None
    fields = form.get("fields") if form else [{"key": "approved", "type": "boolean", "label": "Approve"}]
    message = notify.get("message")
    return SuspendNotification(
        workflow_id=workflow_id,
        execution_id=execution_id,
        step_key=step_key,
        approval_url=str(data.get("_approval_url") or ""),
        title=_text(form.get("title")) or _text(message),
        description=_text(form.get("description")),
        source=_text(data.get("_source")),
        tool=_text(data.get("_tool")),
        context=context if isinstance(context, dict) else ({"details": context} if context is not None else None),
        form_fields=[f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else None,
        expires_at=_text(form.get("expiresAt")),
        channel_context=channel_context,
        message=_text(message),
    )


def channel_overrides(data: dict[str, Any], channel_id: str) -> dict[str, Any] | bool | None:
    """This channel's ``_notify`` entry: a dict of overrides, ``False`` to skip the channel, or ``None``."""
    notify = data.get("_notify")
    if notify is False:
        return False
    if not isinstance(notify, dict):
        return None
    if notify.get("enabled") is False:
        return False
    entry = notify.get(channel_id)
    if entry is False:
        return False
    if isinstance(entry, dict):
        return entry
    return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
