"""Run the session example: ``python -m examples.sandbox_session.main`` (in memory).

Turn 1 and turn 2 share the session ``chat-1``: the file written in turn 1 is there in turn 2.
Turn 3 belongs to ``chat-2`` and sees an empty workspace of its own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime


async def main(runtime: LocalRuntime | None = None) -> dict[str, Any]:
    from .agents import notes_agent

    runtime = runtime or LocalRuntime()
    agent = notes_agent()
    turns = []
    for session, prompt in [("chat-1", "Note: buy milk"), ("chat-1", "What did I note?"), ("chat-2", "Any notes?")]:
        result = await agent.run(runtime.client, prompt, session_id=session)
        turns.append({"session": session, "tool": result.tool_results[-1].result, "answer": result.result})
    return {"turns": turns}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
