"""Channels registered in this process (``Worker(channels=[...])``)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..exceptions import ConfigurationError
from .channel import Channel

_lock = threading.Lock()
_channels: list[Channel] = []


def register_channels(channels: Iterable[Channel]) -> None:
    """Add channels called on every suspend this process runs (a channel id replaces an earlier one)."""
    items = list(channels)
    for channel in items:
        if not isinstance(channel, Channel):
            raise ConfigurationError(
                f"channels= takes Channel instances (SlackChannel(...), ...), not {type(channel).__name__}"
            )
    with _lock:
        for channel in items:
            _channels[:] = [c for c in _channels if c.id != channel.id]
            _channels.append(channel)


def registered_channels() -> list[Channel]:
    with _lock:
        return list(_channels)


def clear_channels() -> None:
    """Forget every registered channel (tests)."""
    with _lock:
        _channels.clear()
