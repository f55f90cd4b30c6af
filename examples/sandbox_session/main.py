"""Run the session example: ``python -m examples.sandbox_session.main`` (in memory).

Turn 1 and turn 2 share a session: the file written in turn 1 is there in turn 2. Turn 3 belongs to
another session and sees an empty workspace of its own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from polos.testing import LocalRuntime

from .workflows import sandbox_session_notes


async def main(client: Any) -> dict[str, Any]:
    chat, other = f"chat-{uuid.uuid4().hex[:8]}", f"chat-{uuid.uuid4().hex[:8]}"
    turns = []
    for session, prompt in [(chat, "Note: buy milk"), (chat, "What did I note?"), (other, "Any notes?")]:
        result = await sandbox_session_notes.run(client, prompt, session_id=session)
        turns.append({"session": session, "tool": result.tool_results[-1].result, "answer": result.result})
    return {"turns": turns}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(LocalRuntime().client)), indent=2))
