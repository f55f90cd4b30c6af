"""Session memory settings (``polos.memory.types.CompactionConfig``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CompactionConfig(BaseModel):
    """When and how an agent's session history is compacted.

    When the estimated size of the history sent to the model passes ``max_conversation_tokens``,
    the oldest messages are summarized (by the agent's own model, as a durable step) and replaced
    by the summary; the newest ``keep_recent_messages`` messages are always sent verbatim.

    Attributes:
        max_conversation_tokens: estimated tokens (about 4 characters each) that trigger compaction.
        keep_recent_messages: messages kept verbatim after a compaction (at least 2).
        max_summary_tokens: output budget of the summarizing call.
        enabled: ``False`` turns compaction off (history is then only bounded by the model).
        summary_prompt: the instruction given to the summarizing call.
    """

    max_conversation_tokens: int = Field(default=80_000, ge=100)
    keep_recent_messages: int = Field(default=10, ge=2)
    max_summary_tokens: int = Field(default=2_000, ge=50)
    enabled: bool = True
    summary_prompt: str = (
        "Summarize the conversation so far for your own future reference: keep facts, decisions, names, "
        "numbers, open tasks and the user's preferences. Write plain prose, no preamble."
    )
