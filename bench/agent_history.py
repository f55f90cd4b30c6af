"""Storage of an agent's history: a 100-turn run with 2 KB messages.

One real worker runs ``bench_agent`` against a fake LLM server in this process.  The script makes
the model call ``bench_echo`` with a 2 KB text on turns 1-99 (the tool returns it: a 2 KB result)
and answer with a 2 KB text on turn 100; the input is 2 KB too.  So the run has 100 LLM calls and
99 tool calls, and the conversation holds 200 messages.

Measured, in bytes of the stored JSON text:

- **raw message bytes**: the content of every message of the conversation (texts, tool inputs,
  tool results);
- **history storage**: what the run keeps to resume and to remember, the conversation log rows
  (``polos_agent_message.data``) plus the agent execution's step records (``polos_step.output``
  and ``error``);
- for information: the trace events of the run and the execution row (payload and result).

A design that copied the conversation into every LLM step would store ~N^2/2 messages (about 100x
the raw bytes here); history stored once stays near 1.5x.

Target (issue): history storage / raw message bytes <= 2.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

from . import common

TURNS = 100
SIZE = 2048


def _args(parser: Any) -> None:
    parser.add_argument("--turns", type=int, default=TURNS, help="LLM calls in the run (default 100)")
    parser.add_argument("--size", type=int, default=SIZE, help="bytes per message (default 2048)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "agent_history") as env:
        run(env, args)


def text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(size))


def raw_bytes(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        for part in message["content"]:
            if part["type"] == "text":
                total += len(part["text"])
            elif part["type"] == "tool_use":
                total += len(json.dumps(part["input"]))
            elif part["type"] == "tool_result":
                total += len(part["content"])
    return total


def run(env: Any, args: Any) -> None:
    from django.db.models import Sum
    from django.db.models.functions import Coalesce, Length

    from polos.testing import FakeLLMServer, Reply
    from polos_django import client
    from polos_django.conversations import DjangoConversationStore
    from polos_django.models import AgentMessage, Event, Execution, Step

    rng = random.Random(7)
    replies: list[Any] = [
        Reply(tool_calls=[("bench_echo", {"text": text(rng, args.size)})]) for _ in range(args.turns - 1)
    ]
    replies.append(text(rng, args.size))
    with FakeLLMServer(replies) as fake:
        env.start_workers(1, extra_env=fake.env())
        handle = client.invoke("bench_agent", {"input": text(rng, args.size)})
        result = client.wait_for_result(handle.id, timeout=300)
        assert result.total_steps == args.turns, result.total_steps
        requests = fake.count()

    conversation = f"run:{handle.id}"
    messages = DjangoConversationStore().load(conversation)
    raw = raw_bytes(messages)
    log = AgentMessage.objects.filter(conversation_id=conversation).aggregate(n=Sum(Length("data")))["n"] or 0
    steps = Step.objects.filter(execution_id=handle.id).aggregate(
        n=Sum(Coalesce(Length("output"), 0) + Coalesce(Length("error"), 0))
    )["n"]
    events = Event.objects.filter(topic=handle.topic).aggregate(n=Sum(Length("data")))["n"] or 0
    execution = Execution.objects.filter(id=handle.id).aggregate(
        n=Sum(Coalesce(Length("payload"), 0) + Coalesce(Length("result"), 0))
    )["n"]
    history = log + (steps or 0)
    largest = Step.objects.filter(execution_id=handle.id).order_by(-Length("output")).values_list("key", flat=True)[0]

    common.line("LLM calls (requests seen by the fake server)", str(requests))
    common.line("messages in the conversation", str(len(messages)))
    common.line("raw message bytes", f"{raw:,}")
    common.line("conversation log bytes", f"{log:,}")
    common.line("step record bytes", f"{steps or 0:,}  (largest: {largest})")
    common.line("history storage (log + steps)", f"{history:,}")
    common.ratio("history storage / raw message bytes", history, raw)
    common.line("for information: trace event bytes", f"{events:,}")
    common.line("for information: execution payload + result bytes", f"{execution or 0:,}")
    common.line("for information: all of the above / raw", f"{(history + events + (execution or 0)) / raw:.2f}x")
    common.target("history storage / raw message bytes <= 2", history / raw <= 2)


if __name__ == "__main__":
    main()
