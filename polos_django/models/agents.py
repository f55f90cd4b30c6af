"""Tables for agents: the append-only conversation log and session memory.

An agent's conversation is stored once, one row per message; an LLM step records only the
position of its reply here (see ``polos.agents.llm_step``), so storage grows linearly with the
number of turns.  ``AgentMemory`` holds small per-session values (compaction summaries,
"always allow" answers of tool approvals).
"""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now as _now

__all__ = ["AgentMemory", "AgentMessage"]


class AgentMessage(models.Model):
    """One message of a conversation, at its position (0, 1, 2, ...) in the log."""

    conversation_id = models.CharField(max_length=255)
    position = models.IntegerField()
    data = models.TextField(help_text="The message as JSON (polos.llm.Message)")
    created_at = models.DateTimeField(default=_now)

    class Meta:
        db_table = "polos_agent_message"
        ordering = ["conversation_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "position"], name="polos_agent_message_position"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.position}"


class AgentMemory(models.Model):
    """A session-memory value (JSON) under a key."""

    key = models.CharField(max_length=512, unique=True)
    value = models.TextField()
    updated_at = models.DateTimeField(default=_now)

    class Meta:
        db_table = "polos_agent_memory"
        verbose_name_plural = "agent memory"

    def __str__(self) -> str:
        return self.key
