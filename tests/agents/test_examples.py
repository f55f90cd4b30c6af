"""The agent examples: offline against the fake LLM server, in memory and on a real worker.

With a real ``ANTHROPIC_API_KEY`` in the environment, ``test_examples_against_anthropic`` also runs
each example against Anthropic (skipped otherwise).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from polos.testing import FakeLLMServer, LocalRuntime
from polos.testing.fake_llm import FAKE_API_KEY

EXAMPLES = ["tools", "structured", "streaming", "chat", "thinking", "guardrails", "hooks", "router", "fraud_review"]
ON_WORKER = pytest.param("worker", marks=[pytest.mark.worker, pytest.mark.django_db(transaction=True)])


def example(name: str) -> Any:
    return importlib.import_module(f"examples.agents_{name}.main")


def check(name: str, result: dict[str, Any]) -> None:
    """What each example must produce offline."""
    if name == "tools":
        assert result["answer"].startswith("Paris: 21 C (69.8 F)")
        assert [tool for tool, _ in result["tools"]] == ["agents_tools_get_weather"] * 2 + [
            "agents_tools_to_fahrenheit"
        ] * 2
        assert result["tools"][2][1] == 69.8 and result["steps"] == 3
    elif name == "structured":
        assert result["recipe"] == {
            "title": "Pancakes",
            "servings": 4,
            "ingredients": ["flour", "milk", "eggs"],
            "minutes": 20,
        }
    elif name == "streaming":
        assert result["text"] == result["result"] and result["text"].startswith("Once upon a time")
        assert result["chunks"] >= 1
        assert {"agent_start", "stream_start", "text_delta", "agent_finish", "workflow_finish"} <= set(
            result["event_types"]
        )
    elif name == "chat":
        assert result["answers"] == ["Nice to meet you, Ada!", "Tea it is.", "Your name is Ada."]
        assert result["other_session"] == "I don't know your name yet."
    elif name == "thinking":
        assert result["reasoning"].startswith("Three boxes") and result["answer"] == result["result"] == "7"
    elif name == "guardrails":
        assert (
            result["answer"]
            == "A colleague will review your refund request; we will write to [email hidden] within a day."
        )
    elif name == "hooks":
        assert result["answer"] == "We have 12 units of A-100. (Stock bot)"
        assert result["tool_result"] == {"sku": "A-100", "units": 12}
    elif name == "router":
        assert result["coordinator"] == {
            "category": "billing",
            "answer": "Your refund was issued on Monday and arrives within 5 days.",
            "mood": "4",
        }
        assert result["handoff"] == "Your refund was issued on Monday and arrives within 5 days."
    elif name == "fraud_review":
        assert result["safe"]["status"] == "charged" and result["safe"]["reviewed"] is False
        assert result["reviewed"]["status"] == "charged" and result["reviewed"]["reviewed"] is True


IN_MEMORY = pytest.param("memory", marks=[pytest.mark.once])


@pytest.fixture(params=[IN_MEMORY, ON_WORKER])
def client(request: pytest.FixtureRequest, fake_llm: FakeLLMServer) -> Iterator[Any]:
    if request.param == "memory":
        with fake_llm.patched_env():
            yield LocalRuntime().client
        return
    request.getfixturevalue("agent_worker")
    from celery import current_app

    from polos_django.client import LocalClient
    from tests.celery_app import app

    previous = current_app._get_current_object()
    app.set_current()
    yield LocalClient()
    previous.set_current()


@pytest.mark.parametrize("name", EXAMPLES)
async def test_example_offline(name: str, client: Any, fake_llm: FakeLLMServer) -> None:
    module = example(name)
    fake_llm.reset(module.SCRIPT)
    result = await asyncio.wait_for(module.main(client), timeout=120)
    check(name, result)
    assert not fake_llm.errors


REAL_KEY = os.environ.get("ANTHROPIC_API_KEY") not in (None, "", FAKE_API_KEY)


@pytest.mark.once
@pytest.mark.skipif(not REAL_KEY, reason="set ANTHROPIC_API_KEY to run the examples against Anthropic")
@pytest.mark.parametrize("name", EXAMPLES)
async def test_examples_against_anthropic(name: str) -> None:
    result = await asyncio.wait_for(example(name).main(LocalRuntime().client), timeout=300)
    assert result
