"""An agent run on a real worker (against the fake LLM server), as the execution and session pages show it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from polos.llm.types import LLMUsage
from polos.testing import FakeLLMServer, Reply
from polos_django import client as local
from polos_django.models import Execution
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.browser, pytest.mark.timeout(180)]


def test_an_agent_run_shows_prompt_reasoning_reply_tokens_and_conversation(
    start_workers: Any, staff_client: Client, app_server: Any, page: Any, screenshot: Any
) -> None:
    from tests.ui.agent_workflows import AGENT_QUEUE  # registers the agent here too: invoke routes to its queue

    with FakeLLMServer() as llm:
        reply = Reply(
            text="<b>Hello</b> from the model",
            reasoning="Thinking <i>hard</i>",
            usage=LLMUsage(input_tokens=12, output_tokens=5),
            delay=5.0,  # the page is open well before the model answers
        )
        llm.reset([reply])
        env = {**llm.env(), "POLOS_TEST_EXTRA_WORKFLOW_MODULES": "tests.ui.agent_workflows"}
        start_workers(1, extra_env=env, queues=AGENT_QUEUE)
        handle = local.invoke("ui_agent", {"input": "Say hi <script>alert(1)</script>"}, session_id="ui-chat")
        wait_until(lambda: Execution.objects.filter(pk=handle.id, status="running").exists(), 60, message="the run")

        # Watch it live in Chromium (the session cookie of the logged-in test client).
        cookie = staff_client.cookies["sessionid"].value
        page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": app_server.url}])
        page.goto(f"{app_server.url}/ui/executions/{handle.id}/")
        page.evaluate("window.__sameDocument = true")
        timeline = page.locator("#timeline")
        timeline.get_by_text("Thinking <i>hard</i>").wait_for(timeout=60_000)  # the LLM call, from the socket
        timeline.get_by_text("Agent finish: ui_agent").wait_for(timeout=30_000)
        assert page.evaluate("window.__sameDocument") is True
        llm_entry = timeline.locator(".entry.cat-llm", has_text="LLM call")
        assert "fresh" in (llm_entry.get_attribute("class") or "")  # added by the socket, not server-rendered
        assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
        page.locator("#exec-tokens", has_text="12 in / 5 out").wait_for()
        screenshot(page, "ui-agent-execution")
        result = local.wait_for_result(handle.id, timeout=60)
    assert "Hello" in str(result)

    body = staff_client.get(f"/ui/executions/{handle.id}/").content.decode()
    assert "<script>alert(1)" not in body and "<b>Hello" not in body
    assert "__polos_model__" not in body  # the stored AgentResult is shown as its data
    for text in (
        "Agent start: ui_agent",
        "LLM call",
        "claude-sonnet-4-5",
        "Prompt (user)",
        "Say hi &lt;script&gt;alert(1)&lt;/script&gt;",
        "Thinking &lt;i&gt;hard&lt;/i&gt;",
        "&lt;b&gt;Hello&lt;/b&gt; from the model",
        "12 in / 5 out",
        "Agent finish: ui_agent",
    ):
        assert text in body, text
    conversation = staff_client.get("/ui/sessions/ui-chat/").content.decode()
    assert "Say hi &lt;script&gt;" in conversation and "&lt;b&gt;Hello&lt;/b&gt; from the model" in conversation
    assert "Thinking &lt;i&gt;hard&lt;/i&gt;" in conversation  # from the conversation log: reasoning too
