"""Agents and tools run by the worker processes of the agent tests (``POLOS["WORKFLOW_MODULES"]``).

The worker's ``anthropic`` / ``openai`` clients talk to the test's fake LLM server
(``ANTHROPIC_BASE_URL`` / ``OPENAI_BASE_URL`` in the worker's environment).
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from polos import Agent, WorkflowContext, max_steps, tool


class City(BaseModel):
    city: str


@tool(id="w_get_weather", description="Current weather of a city")
def w_get_weather(ctx: WorkflowContext, input: City) -> dict:
    return {"city": input.city, "temperature_c": 21}


class Pause(BaseModel):
    seconds: float = 0.0


@tool(id="w_work", description="Do some work that takes a while")
def w_work(ctx: WorkflowContext, input: Pause) -> str:
    time.sleep(input.seconds)
    return "worked"


w_anthropic_agent = Agent(
    id="w_anthropic_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You answer weather questions.",
    tools=[w_get_weather],
)

w_openai_agent = Agent(
    id="w_openai_agent",
    provider="openai",
    model="gpt-4o",
    system_prompt="You answer weather questions.",
    tools=[w_get_weather],
)

w_openai_chat_agent = Agent(
    id="w_openai_chat_agent",
    provider="openai",
    provider_llm_api="chat",
    model="gpt-4o",
    tools=[w_get_weather],
)

w_crash_agent = Agent(
    id="w_crash_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    tools=[w_work],
    stop_conditions=[max_steps(count=10)],
)
