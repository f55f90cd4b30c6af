"""The agent and tool of the agent benchmarks (registered in the bench worker via ``bench/settings.py``).

The worker's ``anthropic`` client talks to the benchmark's fake LLM server (``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

from pydantic import BaseModel

from polos import Agent, WorkflowContext, max_steps, tool


class EchoInput(BaseModel):
    text: str = ""


@tool(id="bench_echo", description="Return the text it is given")
async def bench_echo(ctx: WorkflowContext, input: EchoInput) -> str:
    return input.text


bench_agent = Agent(
    id="bench_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a benchmark agent.",
    tools=[bench_echo],
    stop_conditions=[max_steps(count=1000)],
)
