"""A conversational agent with session memory and compaction."""

from __future__ import annotations

from polos import Agent
from polos.memory.types import CompactionConfig

chat_agent = Agent(
    id="agents_chat_assistant",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a friendly assistant. Keep answers to one sentence.",
    compaction=CompactionConfig(max_conversation_tokens=20_000, keep_recent_messages=6),
)
