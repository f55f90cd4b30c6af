"""``batch_agent_invoke``: start several agent runs from outside a workflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..exceptions import ConfigurationError
from ..types import BatchWorkflowInput, ExecutionHandle
from .agent import AgentRunConfig

if TYPE_CHECKING:
    from ..client import ClientLike


async def batch_agent_invoke(
    client: ClientLike, configs: Sequence[AgentRunConfig], session_id: str | None = None, user_id: str | None = None
) -> list[ExecutionHandle]:
    """Start the runs prepared with ``agent.with_input(...)`` at once; their handles in order.

    Inside a workflow use ``ctx.step.batch_agent_invoke`` instead, so the runs start once.
    """
    from ..context import current_context

    if current_context() is not None:
        raise ConfigurationError(
            "batch_agent_invoke() was called inside a running workflow; use ctx.step.batch_agent_invoke(key, ...)"
        )
    items = []
    for config in configs:
        if not isinstance(config, AgentRunConfig):
            raise ConfigurationError(
                f"batch_agent_invoke takes agent.with_input(...) items, got {type(config).__name__}"
            )
        items.append(
            BatchWorkflowInput(
                id=config.agent.id,
                payload=config.payload(),
                initial_state=config.initial_state,
                run_timeout_seconds=config.run_timeout_seconds,
            )
        )
    return await client.batch_invoke(items, session_id=session_id, user_id=user_id)


__all__ = ["batch_agent_invoke"]
