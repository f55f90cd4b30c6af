"""Streaming: text arrives while the model writes it."""

from __future__ import annotations

from polos import Agent

story_agent = Agent(
    id="agents_streaming_story",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You tell very short stories.",
)
