"""``polos.middleware.hook`` (Polos' import path): lifecycle hooks."""

from __future__ import annotations

from ..agents.hooks import HookAction, HookContext, HookResult, hook

__all__ = ["HookAction", "HookContext", "HookResult", "hook"]
