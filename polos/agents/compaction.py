"""Compacting a session's history: old messages become a summary written by the agent's model.

Compaction happens when a run starts and the history it would send is estimated above
``CompactionConfig.max_conversation_tokens``.  The summarizing call is a durable step
(``compact``); the summary and the log position it covers are stored as session memory, and the
log itself is never rewritten (it stays append-only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..llm.types import LLMRequest, Message, ToolResultPart
from .conversation import estimate_tokens

if TYPE_CHECKING:
    from .loop import AgentRun


async def compact(
    run: AgentRun, summary: str | None, history: list[Message], positions: list[int]
) -> tuple[str | None, list[Message]]:
    """Summarize the older part of ``history`` when it is too long; returns the summary and what is left.

    ``positions`` are the log positions of the ``history`` messages.
    """
    config = run.agent.compaction
    assert config is not None
    if estimate_tokens(history, summary) <= config.max_conversation_tokens:
        return summary, history
    cut = _cut_point(history, config.keep_recent_messages)
    if cut <= 0:
        return summary, history
    older, recent = history[:cut], history[cut:]
    transcript = "\n\n".join(_render(m) for m in older)
    if summary:
        transcript = f"Earlier summary:\n{summary}\n\n{transcript}"
    request = LLMRequest(
        model=run.agent.model,
        messages=[Message.user(f"{config.summary_prompt}\n\n<conversation>\n{transcript}\n</conversation>")],
        system="You write concise, faithful summaries of conversations.",
        max_output_tokens=config.max_summary_tokens,
        cache=False,
        metadata={"agent_id": run.agent.id, "execution_id": run.ctx.execution_id, "purpose": "compaction"},
    )
    reply = await run.llm.generate("compact", request)
    run._count(reply)
    new_summary = reply.text.strip()
    upto = positions[cut]
    await run.ctx.step.run("compact_save", _save, run, new_summary, upto, max_retries=0)
    return new_summary, recent


async def _save(run: AgentRun, summary: str, upto: int) -> None:
    run.log.set_value(f"summary:{run.conversation_id}", {"summary": summary, "upto": upto})


def _cut_point(history: list[Message], keep: int) -> int:
    """Where the kept tail starts: at least ``keep`` messages, beginning with a plain user message."""
    cut = max(0, len(history) - keep)
    while cut > 0 and (history[cut].role != "user" or any(isinstance(p, ToolResultPart) for p in history[cut].content)):
        cut -= 1
    return cut


def _render(message: Message) -> str:
    lines = []
    for part in message.content:
        data = part.model_dump()
        if data["type"] == "text":
            lines.append(data["text"])
        elif data["type"] == "tool_use":
            lines.append(f"[called tool {data['name']} with {data['input']}]")
        elif data["type"] == "tool_result":
            lines.append(f"[tool result: {data['content'][:2000]}]")
    return f"{message.role}: " + "\n".join(lines)
