"""``polos.middleware.guardrail`` (Polos' import path): guardrails."""

from __future__ import annotations

from ..agents.hooks import GuardrailContext, GuardrailResult, guardrail

__all__ = ["GuardrailContext", "GuardrailResult", "guardrail"]
