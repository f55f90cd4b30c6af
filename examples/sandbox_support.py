"""Helpers the sandbox examples share: a stateless scripted model, and answering approval forms.

Both work with any client that has ``get_execution``, ``list_events`` and ``resume`` (the in-memory
``LocalRuntime`` client, ``polos_django.client.LocalClient``, ``PolosClient``), so each example's
``main(client)`` runs unchanged in memory and on a real worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from polos import ExecutionHandle
from polos.llm.types import LLMRequest, TextPart, ToolResultPart
from polos.testing import Reply, ScriptedModel

FINISHED = ("completed", "failed", "cancelled")


def scripted_model(flows: dict[str, list[Reply | str]]) -> ScriptedModel:
    """A stand-in for an LLM: for a prompt containing a key of ``flows``, replay that flow.

    The reply is chosen from the request alone (the last user prompt and the number of tool
    rounds since it), so one model serves any number of runs, in any process.
    """

    def reply(request: LLMRequest) -> Reply | str:
        prompt, rounds = "", 0
        for message in reversed(request.messages):
            if message.role != "user":
                continue
            if any(isinstance(part, ToolResultPart) for part in message.content):
                rounds += 1
                continue
            prompt = " ".join(p.text for p in message.content if isinstance(p, TextPart))
            break
        for key, steps in flows.items():
            if key in prompt:
                return steps[min(rounds, len(steps) - 1)]
        return "I do not know that task."

    return ScriptedModel(reply)


async def run_answering(
    client: Any,
    handle: ExecutionHandle,
    answer: Callable[[dict[str, Any]], dict[str, Any]],
    timeout: float = 120.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Wait for an agent run, answering every ``suspend_*`` form with ``answer(data)``.

    Returns the finished execution and the suspend payloads, in order.
    """
    deadline = time.monotonic() + timeout
    cursor, forms = 0, []
    while True:
        execution = await client.get_execution(handle.id)
        if execution["status"] in FINISHED:
            return execution, forms
        page = await client.list_events(handle.topic, after=cursor)
        for event in page["events"]:
            event_type = event.get("event_type") or ""
            if event_type.startswith("suspend_"):
                forms.append(event["data"])
                step_key = event_type[len("suspend_") :]
                await client.resume(handle.root_workflow_id, handle.id, step_key, answer(event["data"]))
        cursor = page["next_after"]
        if time.monotonic() > deadline:
            raise TimeoutError(f"agent run {handle.id} did not finish in {timeout} s")
        await asyncio.sleep(0.05)
