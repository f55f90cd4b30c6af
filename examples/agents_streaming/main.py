"""Streaming: ``python -m examples.agents_streaming.main``."""

from __future__ import annotations

from typing import Any

from ..agents_offline import run_example
from .agents import story_agent

SCRIPT = [
    "Once upon a time a small robot learned to paint. Every night it painted the stars it could not "
    "reach, and every morning the children of the town found a new sky on the walls."
]


async def main(client: Any) -> dict[str, Any]:
    stream = await story_agent.stream(client, "Tell me a story about a robot.")
    chunks = [chunk async for chunk in stream.text_chunks]
    events = [event.event_type async for event in stream.events]
    result = await stream.result()
    return {"chunks": len(chunks), "text": "".join(chunks), "event_types": sorted(set(events)), "result": result.result}


if __name__ == "__main__":
    run_example(main, SCRIPT)
