"""Test helpers shipped with Polos (``polos.testing``)."""

from __future__ import annotations

from .agents import run_agent_to_completion
from .fake_llm import FakeLLMServer, RecordedRequest
from .local import LocalRuntime, LocalRuntimeClient
from .scripted import Reply, ScriptedModel, ScriptExhaustedError

__all__ = [
    "FakeLLMServer",
    "LocalRuntime",
    "LocalRuntimeClient",
    "RecordedRequest",
    "Reply",
    "ScriptExhaustedError",
    "ScriptedModel",
    "run_agent_to_completion",
]
