"""Durable overhead of an agent turn: a 10-turn agent run vs. the same 10 LLM calls made directly.

A fake LLM server (``polos.testing.FakeLLMServer``, zero latency) runs in this process; one real
worker process runs ``bench_agent`` (provider ``anthropic``, the official SDK pointed at the fake
server with ``ANTHROPIC_BASE_URL``).  The script makes the model call the ``bench_echo`` tool on
turns 1-9 and answer on turn 10, so one run is 10 durable LLM steps and 9 durable tool calls
(child executions).  Measured: ``polos_django.client.invoke()`` to the result.

Baseline, same run: the same 10 calls (same growing conversation, same tool definitions, same
replies) made directly with ``anthropic.AsyncAnthropic`` in this process, one after the other.
Runs of each are interleaved; medians are reported.

Also reported, for diagnosis: the same agent run in this process (``run_execution`` on the Django
store, no Celery), which separates the durable steps' cost from the queue hops of one run.

Target (issue): durable overhead per turn, (agent - direct) / 10, at most 5 ms.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import common

TURNS = 10


def _args(parser: Any) -> None:
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs of each (default 3)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "agent_overhead") as env:
        run(env, args)


def script() -> list[Any]:
    from polos.testing import Reply

    return [Reply(tool_calls=[("bench_echo", {"text": f"turn {i}"})]) for i in range(1, TURNS)] + ["done"]


def direct_once(fake: Any, sdk: Any, loop: asyncio.AbstractEventLoop) -> float:
    """The same 10 calls with the SDK client: the conversation grows as the agent's does."""
    tools = [
        {
            "name": "bench_echo",
            "description": "Return the text it is given",
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
        }
    ]

    async def calls() -> float:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
        started = time.perf_counter()
        for _ in range(TURNS):
            reply = await sdk.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=4096,
                system="You are a benchmark agent.",
                tools=tools,
                messages=messages,
            )
            messages.append({"role": "assistant", "content": [b.model_dump() for b in reply.content]})
            uses = [b for b in reply.content if b.type == "tool_use"]
            if not uses:
                break
            messages.append(
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": u.id, "content": u.input["text"]} for u in uses],
                }
            )
        return time.perf_counter() - started

    fake.reset(script())
    elapsed = loop.run_until_complete(calls())
    assert fake.count() == TURNS, fake.count()
    return elapsed


def agent_once(fake: Any) -> float:
    from polos_django import client

    fake.reset(script())
    started = time.perf_counter()
    handle = client.invoke("bench_agent", {"input": "go"})
    result = client.wait_for_result(handle.id, timeout=120)
    elapsed = time.perf_counter() - started
    assert result.result == "done" and result.total_steps == TURNS, result
    assert fake.count() == TURNS, fake.count()
    return elapsed


def in_process_once(fake: Any, loop: asyncio.AbstractEventLoop) -> float:
    from polos.invocation import new_execution
    from polos.runtime import run_execution
    from polos_django.conf import runtime_settings
    from polos_django.store import get_store

    store = get_store()
    fake.reset(script())
    # A queue no worker consumes: this process claims and runs the execution itself.
    [record] = store.create_executions([new_execution("bench_agent", {"input": "go"}, queue_name="bench_in_process")])
    started = time.perf_counter()
    outcome = loop.run_until_complete(run_execution(store, record.id, settings=runtime_settings()))
    elapsed = time.perf_counter() - started
    assert outcome == "completed" and fake.count() == TURNS, (outcome, fake.count())
    return elapsed


def run(env: Any, args: Any) -> None:
    import anthropic

    from polos.testing import FakeLLMServer

    with FakeLLMServer() as fake:
        env.start_workers(1, extra_env=fake.env())
        loop = asyncio.new_event_loop()  # one loop: the SDK client's connection pool lives on it
        sdk = anthropic.AsyncAnthropic(base_url=fake.anthropic_base_url, api_key="bench", max_retries=0)
        for _ in range(args.warmup):
            agent_once(fake)
            direct_once(fake, sdk, loop)
        agent_times: list[float] = []
        direct_times: list[float] = []
        local_times: list[float] = []
        with fake.patched_env():
            in_process_once(fake, loop)
            for _ in range(args.runs):
                agent_times.append(agent_once(fake))
                direct_times.append(direct_once(fake, sdk, loop))
                local_times.append(in_process_once(fake, loop))
        loop.run_until_complete(sdk.close())
        loop.close()
    agent = common.median(agent_times)
    direct = common.median(direct_times)
    per_turn = (agent - direct) / TURNS
    common.line(f"agent run, {TURNS} turns (median of {args.runs})", common.ms(agent))
    common.line(f"baseline: {TURNS} direct SDK calls (median)", common.ms(direct))
    common.ratio("ratio", agent, direct)
    common.line("durable overhead per turn", common.ms(per_turn))
    common.line("agent run p90", common.ms(common.percentile(agent_times, 90)))
    local = common.median(local_times)
    common.line("diagnosis: same run in-process, no Celery (median)", common.ms(local))
    common.line("diagnosis: in-process overhead per turn", common.ms((local - direct) / TURNS))
    common.target("durable overhead per turn <= 5 ms", per_turn <= 0.005)


if __name__ == "__main__":
    main()
