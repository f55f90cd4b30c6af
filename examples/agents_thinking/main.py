"""A thinking agent: ``python -m examples.agents_thinking.main``."""

from __future__ import annotations

from typing import Any

from polos.testing import Reply

from ..agents_offline import run_example
from .agents import thinking_agent

SCRIPT = [
    Reply(
        reasoning="Three boxes, two moves each: 3 * 2 = 6, plus the first move makes 7.",
        text="7",
    )
]


async def main(client: Any) -> dict[str, Any]:
    stream = await thinking_agent.stream(client, "How many moves? Three boxes, two moves each, plus one.")
    reasoning, text = [], []
    async for event in stream.events:
        if event.event_type == "reasoning_delta":
            reasoning.append(event.data["content"])
        elif event.event_type == "text_delta":
            text.append(event.data["content"])
    result = await stream.result()
    return {"reasoning": "".join(reasoning), "answer": "".join(text), "result": result.result}


if __name__ == "__main__":
    run_example(main, SCRIPT)
