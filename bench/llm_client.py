"""Raw SDK call latency against the fake LLM server, and the cost of the polos.llm provider layer.

One "run" is an N-turn tool loop as an agent makes it: turn 1 sends the user message, the fake
server answers with a tool call, the next turn sends the conversation so far plus the tool result,
and so on; the last turn gets a text answer.  The same run is made

- **raw**: with the official SDK client alone (``anthropic.AsyncAnthropic`` or ``openai.AsyncOpenAI``,
  one client reused, ``max_retries=0``), request bodies built by hand; this is the baseline, and
  ``bench/agent_overhead`` imports :func:`raw_sdk_run` to measure it in its own run;
- **provider**: through ``polos.llm.get_provider(...).generate`` (neutral types in and out, retry
  wrapper, rate-limit look-up, usage and cost).

The fake server answers at once (no latency), so the figures are client + loopback HTTP cost.
``--rounds`` runs of each, interleaved; the median per-call time is reported.

Target (set for this layer): the provider layer adds at most 1 ms per call over the raw SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from polos.llm import LLMRequest, Message, ToolResultPart, ToolSpec, get_provider
from polos.testing import FakeLLMServer, Reply

FLAVOURS = {
    "anthropic": ("anthropic", None, "claude-haiku-4-5"),
    "openai-responses": ("openai", "responses", "gpt-4o"),
    "openai-chat": ("openai", "chat", "gpt-4o"),
}
TOOL = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def agent_script(turns: int, tool_name: str = "step") -> list[Reply]:
    """The replies of an agent run of ``turns`` LLM calls: ``turns - 1`` tool calls, then text."""
    calls = [Reply(tool_calls=[(tool_name, {"n": i}, f"call_{i}")]) for i in range(turns - 1)]
    return [*calls, Reply(text="done")]


async def raw_sdk_run(
    server: FakeLLMServer, turns: int = 10, *, flavour: str = "anthropic", tool_name: str = "step"
) -> list[float]:
    """One ``turns``-call tool loop with the bare SDK client; returns the seconds of each call.

    Scripts ``server`` itself (:func:`agent_script`) and leaves its recorded requests in place.
    """
    provider, llm_api, model = FLAVOURS[flavour]
    server.script(agent_script(turns, tool_name))
    if provider == "anthropic":
        import anthropic

        claude = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="bench", max_retries=0)
        tools = [{"name": tool_name, "description": "One step.", "input_schema": TOOL}]
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Run the steps."}]
        durations = []
        for _ in range(turns):
            started = time.perf_counter()
            reply = await claude.messages.create(
                model=model, max_tokens=1024, system="You run steps.", messages=messages, tools=tools
            )
            durations.append(time.perf_counter() - started)
            blocks = [block.model_dump() for block in reply.content]
            messages.append({"role": "assistant", "content": blocks})
            results = [
                {"type": "tool_result", "tool_use_id": b["id"], "content": "ok"}
                for b in blocks
                if b["type"] == "tool_use"
            ]
            if results:
                messages.append({"role": "user", "content": results})
        await claude.close()
        return durations

    import openai

    gpt = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="bench", max_retries=0)
    durations = []
    if llm_api == "chat":
        chat_tools = [
            {"type": "function", "function": {"name": tool_name, "description": "One step.", "parameters": TOOL}}
        ]
        chat: list[dict[str, Any]] = [
            {"role": "system", "content": "You run steps."},
            {"role": "user", "content": "Run the steps."},
        ]
        for _ in range(turns):
            started = time.perf_counter()
            completion = await gpt.chat.completions.create(model=model, messages=chat, tools=chat_tools)  # type: ignore[arg-type]
            durations.append(time.perf_counter() - started)
            message = completion.choices[0].message
            chat.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls or []:
                chat.append({"role": "tool", "tool_call_id": call.id, "content": "ok"})
    else:
        tools = [{"type": "function", "name": tool_name, "description": "One step.", "parameters": TOOL}]
        items: list[dict[str, Any]] = [{"role": "user", "content": "Run the steps."}]
        for _ in range(turns):
            started = time.perf_counter()
            response = await gpt.responses.create(
                model=model,
                instructions="You run steps.",
                input=items,
                tools=tools,
                store=False,  # type: ignore[arg-type]
            )
            durations.append(time.perf_counter() - started)
            for item in response.output:
                if item.type == "function_call":
                    items.append(
                        {
                            "type": "function_call",
                            "call_id": item.call_id,
                            "name": item.name,
                            "arguments": item.arguments,
                        }
                    )
                    items.append({"type": "function_call_output", "call_id": item.call_id, "output": "ok"})
    await gpt.close()
    return durations


async def provider_run(
    server: FakeLLMServer, turns: int = 10, *, flavour: str = "anthropic", tool_name: str = "step"
) -> list[float]:
    """The same tool loop through ``polos.llm`` (one provider reused); seconds of each call."""
    name, llm_api, model = FLAVOURS[flavour]
    server.script(agent_script(turns, tool_name))
    base_url = server.anthropic_base_url if name == "anthropic" else server.openai_base_url
    provider = get_provider(name, base_url=base_url, api_key="bench", llm_api=llm_api)
    tool = ToolSpec(name=tool_name, description="One step.", input_schema=TOOL)
    messages = [Message.user("Run the steps.")]
    durations = []
    for _ in range(turns):
        request = LLMRequest(model=model, system="You run steps.", messages=messages, tools=[tool])
        started = time.perf_counter()
        response = await provider.generate(request)
        durations.append(time.perf_counter() - started)
        messages = [*messages, response.to_message()]
        results = [ToolResultPart(tool_use_id=c.id, content="ok") for c in response.tool_calls]
        if results:
            messages.append(Message(role="user", content=list(results)))
    return durations


async def measure(flavour: str, turns: int, rounds: int) -> tuple[float, float]:
    raw_rounds: list[float] = []
    provider_rounds: list[float] = []
    with FakeLLMServer() as server:
        await raw_sdk_run(server, turns, flavour=flavour)  # warm-up: imports, connections
        await provider_run(server, turns, flavour=flavour)
        for _ in range(rounds):
            raw_rounds.append(statistics.median(await raw_sdk_run(server, turns, flavour=flavour)))
            provider_rounds.append(statistics.median(await provider_run(server, turns, flavour=flavour)))
    return statistics.median(raw_rounds), statistics.median(provider_rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=10, help="LLM calls per run (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each kind (default 5)")
    parser.add_argument("--flavour", choices=[*FLAVOURS, "all"], default="all")
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"== llm_client ==  [{os.cpu_count()} CPUs, load average {load}]", flush=True)
    flavours = list(FLAVOURS) if args.flavour == "all" else [args.flavour]
    results = {}
    for flavour in flavours:
        raw, layered = asyncio.run(measure(flavour, args.turns, args.rounds))
        overhead = layered - raw
        results[flavour] = {"raw_ms": raw * 1e3, "provider_ms": layered * 1e3, "overhead_ms": overhead * 1e3}
        print(f"  {flavour + ': raw SDK call (baseline)':<46} {raw * 1e3:.2f} ms", flush=True)
        print(f"  {flavour + ': polos.llm provider call':<46} {layered * 1e3:.2f} ms", flush=True)
        print(f"  {flavour + ': provider overhead per call':<46} {overhead * 1e3:.2f} ms", flush=True)
        met = overhead <= 1e-3
        print(f"  target: {flavour} provider layer adds <= 1 ms per call -> {'MET' if met else 'MISSED'}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
