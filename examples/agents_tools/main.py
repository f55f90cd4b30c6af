"""An agent with tools: ``python -m examples.agents_tools.main`` (offline unless ANTHROPIC_API_KEY is set)."""

from __future__ import annotations

from typing import Any

from polos.testing import Reply

from ..agents_offline import run_example
from .agents import weather_agent

# What the model says when the example runs offline: two tool calls in parallel, then one more,
# then the answer.
SCRIPT = [
    Reply(
        text="Let me check both cities.",
        tool_calls=[("agents_tools_get_weather", {"city": "Paris"}), ("agents_tools_get_weather", {"city": "Oslo"})],
    ),
    Reply(tool_calls=[("agents_tools_to_fahrenheit", {"celsius": 21}), ("agents_tools_to_fahrenheit", {"celsius": 4})]),
    "Paris: 21 C (69.8 F), sunny. Oslo: 4 C (39.2 F), rain.",
]


async def main(client: Any) -> dict[str, Any]:
    result = await weather_agent.run(client, "What's the weather in Paris and Oslo?")
    return {
        "answer": result.result,
        "tools": [(r.tool_name, r.result) for r in result.tool_results],
        "steps": result.total_steps,
        "usage": result.usage.model_dump(),
    }


if __name__ == "__main__":
    run_example(main, SCRIPT)
