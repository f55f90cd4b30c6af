"""The channels of this process: ``POLOS["NOTIFIERS"]`` plus those registered by ``Worker(channels=...)``.

``NOTIFIERS`` entries are ``Channel`` instances or dicts::

    POLOS = {"NOTIFIERS": [
        {"type": "slack", "bot_token": "xoxb-...", "default_channel": "#approvals", "signing_secret": "..."},
        {"type": "email", "to": ["ops@example.com"]},
        {"type": "sms", "account_sid": "AC...", "auth_token": "...", "from_number": "+15550100", "to": ["+15550101"]},
        {"class": "myproject.notify.PagerChannel", "options": {...}},
    ]}
"""

from __future__ import annotations

import threading
from typing import Any

from django.utils.module_loading import import_string

from polos.exceptions import ConfigurationError
from polos.notifiers import Channel, SlackChannel, SlackChannelConfig, registered_channels

from ..conf import polos_settings

_lock = threading.Lock()
_cache: tuple[Any, list[Channel]] | None = None


def build_channel(entry: Any) -> Channel:
    """One ``NOTIFIERS`` entry as a channel (raises ``ConfigurationError`` saying what is wrong)."""
    if isinstance(entry, Channel):
        return entry
    if not isinstance(entry, dict):
        raise ConfigurationError(f"POLOS['NOTIFIERS'] entries are Channel instances or dicts, not {entry!r}")
    options = {k: v for k, v in entry.items() if k not in ("type", "class", "options")}
    options.update(entry.get("options") or {})
    kind = entry.get("type")
    try:
        if "class" in entry:
            cls = import_string(entry["class"])
            channel = cls(**options)
        elif kind == "slack":
            channel = SlackChannel(SlackChannelConfig(**options))
        elif kind == "email":
            from .email import EmailChannel

            channel = EmailChannel(**options)
        elif kind == "sms":
            from .sms import SmsChannel

            channel = SmsChannel(**options)
        else:
            raise ConfigurationError(
                f"POLOS['NOTIFIERS'] entry has type {kind!r}: use 'slack', 'email', 'sms' or a 'class' path"
            )
    except TypeError as exc:
        raise ConfigurationError(f"POLOS['NOTIFIERS'] {kind or entry.get('class')!r} entry: {exc}") from None
    except ImportError as exc:
        raise ConfigurationError(f"POLOS['NOTIFIERS'] class {entry.get('class')!r} cannot be imported: {exc}") from None
    if not isinstance(channel, Channel):
        raise ConfigurationError(f"{entry.get('class')!r} is not a polos.notifiers.Channel")
    return channel


def configured_channels() -> list[Channel]:
    """The ``NOTIFIERS`` channels (built once per settings value) and then the registered ones."""
    global _cache
    entries = polos_settings.NOTIFIERS or []
    with _lock:
        if _cache is None or _cache[0] is not entries:
            _cache = (entries, [build_channel(e) for e in entries])
        channels = list(_cache[1])
    ids = {c.id for c in channels}
    return channels + [c for c in registered_channels() if c.id not in ids]


def channel_by_id(channel_id: str) -> Channel | None:
    return next((c for c in configured_channels() if c.id == channel_id), None)


def slack_channel() -> SlackChannel | None:
    channel = channel_by_id("slack")
    return channel if isinstance(channel, SlackChannel) else None
