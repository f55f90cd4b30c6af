"""Tools agents can call (``@tool``, :class:`Tool`, the ask-user tool)."""

from __future__ import annotations

from .ask_user import AskUserField, AskUserFieldOption, AskUserInput, create_ask_user_tool
from .tool import (
    ApprovalDecision,
    Tool,
    ToolApproval,
    is_tool_error_result,
    request_approval,
    tool,
    tool_error_result,
)

__all__ = [
    "ApprovalDecision",
    "AskUserField",
    "AskUserFieldOption",
    "AskUserInput",
    "Tool",
    "ToolApproval",
    "create_ask_user_tool",
    "is_tool_error_result",
    "request_approval",
    "tool",
    "tool_error_result",
]
