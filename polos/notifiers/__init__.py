"""Notification channels: reach people when a workflow suspends for them ("agents that reach you").

A :class:`Channel` is called with a :class:`SuspendNotification` on every suspend (after the suspend
is committed, outside the workflow: a failure to notify is recorded in the trace and never fails
the workflow). Built in: :class:`SlackChannel` here; e-mail and SMS channels live in the Django app
(``polos_django.notify``). Configure channels in ``POLOS["NOTIFIERS"]`` or pass
``Worker(channels=[...])``.
"""

from __future__ import annotations

from .channel import Channel, ChannelContext, ChannelOutputMode, Resolution, SuspendNotification
from .registry import register_channels, registered_channels
from .signature import verify_slack_signature
from .slack import SlackChannel, SlackChannelConfig
from .suspends import build_notification

__all__ = [
    "Channel",
    "ChannelContext",
    "ChannelOutputMode",
    "Resolution",
    "SlackChannel",
    "SlackChannelConfig",
    "SuspendNotification",
    "build_notification",
    "register_channels",
    "registered_channels",
    "verify_slack_signature",
]
