"""An agent run on a real worker (against the fake LLM server), as the execution and session pages show it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from polos.llm.types import LLMUsage
from polos.testing import FakeLLMServer, Reply
from polos_django import client as local

pytestmark = [pytest.mark.worker, pytest.mark.timeout(120)]


@pytest.mark.browser
def test_an_agent_run_shows_prompt_reasoning_reply_tokens_and_conversation(
    start_workers: Any, staff_client: Client, app_server: Any, page: Any, screenshot: Any, staff: Any
) -> None:
    from tests.ui.agent_workflows import AGENT_QUEUE  # registers the agent here too: invoke routes to its queue

    with FakeLLMServer() as llm:
        llm.reset(
            [
                Reply(
                    text="<b>Hello</b> from the model",
                    reasoning="Thinking <i>hard</i>",
                    usage=LLMUsage(input_tokens=12, output_tokens=5),
                )
            ]
        )
        env = {**llm.env(), "POLOS_TEST_EXTRA_WORKFLOW_MODULES": "tests.ui.agent_workflows"}
        start_workers(1, extra_env=env, queues=AGENT_QUEUE)
        handle = local.invoke("ui_agent", {"input": "Say hi <script>alert(1)</script>"}, session_id="ui-chat")
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

    # The same page in Chromium, for the artifacts (the session cookie of the logged-in test client).
    cookie = staff_client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": app_server.url}])
    page.goto(f"{app_server.url}/ui/executions/{handle.id}/")
    page.get_by_text("Thinking <i>hard</i>").wait_for()
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    screenshot(page, "ui-agent-execution")
