"""Test helpers shipped with Polos (``polos.testing``)."""

from __future__ import annotations

from .local import LocalRuntime, LocalRuntimeClient
from .scripted import Reply, ScriptedModel, ScriptExhaustedError

__all__ = [
    "LocalRuntime",
    "LocalRuntimeClient",
    "Reply",
    "ScriptExhaustedError",
    "ScriptedModel",
]
