"""Conversational chat with memory: ``python -m examples.agents_chat.main``."""

from __future__ import annotations

from typing import Any

from polos.testing import RecordedRequest

from ..agents_offline import run_example
from .agents import chat_agent


def SCRIPT(request: RecordedRequest) -> str:
    """Offline, the model remembers only what the request carries: the session's history."""
    said = " ".join(str(m.get("content")) for m in request.body.get("messages", []))
    question = request.last_user_text.lower()
    if "my name is" in question:
        return "Nice to meet you, Ada!"
    if "name" in question:
        return "Your name is Ada." if "Ada" in said else "I don't know your name yet."
    return "Tea it is."


async def main(client: Any) -> dict[str, Any]:
    turns = ["Hi, my name is Ada.", "I'd like some tea.", "What is my name?"]
    answers = []
    for text in turns:
        result = await chat_agent.run(client, text, session_id="ada-session")
        answers.append(result.result)
    stranger = await chat_agent.run(client, "What is my name?", session_id="another-session")
    return {"answers": answers, "other_session": stranger.result}


if __name__ == "__main__":
    run_example(main, SCRIPT)
