"""Conversation logs, session memory and compaction for agents."""

from __future__ import annotations

from .store import ConversationStore, InMemoryConversationStore, bind_conversation_store, conversation_store
from .types import CompactionConfig

__all__ = [
    "CompactionConfig",
    "ConversationStore",
    "InMemoryConversationStore",
    "bind_conversation_store",
    "conversation_store",
]
