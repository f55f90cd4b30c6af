"""Polos' import path for hooks and guardrails (they live in :mod:`polos.agents.hooks`)."""

from __future__ import annotations

from ..agents.hooks import GuardrailContext, GuardrailResult, HookAction, HookContext, HookResult, guardrail, hook

__all__ = ["GuardrailContext", "GuardrailResult", "HookAction", "HookContext", "HookResult", "guardrail", "hook"]
