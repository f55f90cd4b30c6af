"""A thinking agent: extended thinking, streamed as reasoning events."""

from __future__ import annotations

from polos import Agent

thinking_agent = Agent(
    id="agents_thinking_solver",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You solve puzzles. Answer with the result only.",
    thinking={"budget_tokens": 2048},
    max_output_tokens=4096,
)
