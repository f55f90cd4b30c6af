"""The ``polos`` package: importable without Django, and a pinned public surface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polos

REPO = Path(__file__).resolve().parents[2]

EXPECTED_EXPORTS = [
    "Agent",
    "AgentConfig",
    "AgentContext",
    "AgentResult",
    "AgentStreamHandle",
    "AskUserField",
    "AskUserFieldOption",
    "AskUserInput",
    "BatchEventPayload",
    "BatchStepResult",
    "BatchWorkflowInput",
    "Channel",
    "ChannelContext",
    "ChannelOutputMode",
    "ConfigurationError",
    "DockerEnvironment",
    "DockerEnvironmentConfig",
    "E2BEnvironmentConfig",
    "EnvironmentInfo",
    "EventData",
    "EventPayload",
    "ExecOptions",
    "ExecResult",
    "ExecToolConfig",
    "ExecutedToolConfig",
    "ExecutionEnvironment",
    "ExecutionFailedError",
    "ExecutionHandle",
    "ExecutionNotFoundError",
    "GlobOptions",
    "GrepMatch",
    "GrepOptions",
    "GuardrailContext",
    "GuardrailResult",
    "HasTextConfig",
    "HookAction",
    "HookContext",
    "HookResult",
    "LocalEnvironment",
    "LocalEnvironmentConfig",
    "ManagedSandbox",
    "MaxStepsConfig",
    "MaxTokensConfig",
    "NonDeterminismError",
    "NotResumableError",
    "PayloadValidationError",
    "Polos",
    "PolosClient",
    "PolosError",
    "Queue",
    "RetryableError",
    "SandboxManager",
    "SandboxToolsConfig",
    "SchedulePayload",
    "SlackChannel",
    "SlackChannelConfig",
    "Step",
    "StepExecutionError",
    "StepTimeoutError",
    "StopConditionContext",
    "StreamResult",
    "SuspendNotification",
    "Tool",
    "ToolApproval",
    "ToolCall",
    "ToolCallFunction",
    "ToolResult",
    "Usage",
    "WebSearchFunction",
    "WebSearchOptions",
    "WebSearchResult",
    "WebSearchResultItem",
    "WebSearchToolConfig",
    "Worker",
    "Workflow",
    "WorkflowCancelled",
    "WorkflowContext",
    "WorkflowNotFoundError",
    "WorkflowState",
    "WorkflowSuspended",
    "WorkflowTimeoutError",
    "batch_agent_invoke",
    "create_ask_user_tool",
    "create_web_search_tool",
    "events",
    "executed_tool",
    "get_all_workflows",
    "get_workflow",
    "guardrail",
    "has_text",
    "hook",
    "max_steps",
    "max_tokens",
    "queue",
    "sandbox_tools",
    "schedules",
    "stop_condition",
    "tool",
    "workflow",
]


def test_polos_imports_without_django_configured() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = "import polos, polos.testing; import sys; assert 'django' not in sys.modules, 'django was imported'"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_exports_are_pinned() -> None:
    assert sorted(polos.__all__) == EXPECTED_EXPORTS


def test_every_export_resolves() -> None:
    missing = [name for name in polos.__all__ if not hasattr(polos, name)]
    assert missing == []
