"""Timeline entries: known events described richly, unknown ones generically, nothing executable."""

from __future__ import annotations

import pytest

from polos_django.ui import timeline

pytestmark = pytest.mark.once


def event(event_type: str, data: object, seq: int = 1) -> dict:
    return {
        "sequence_id": seq,
        "event_type": event_type,
        "data": data,
        "created_at": "2026-01-01T10:11:12.345678+00:00",
    }


def test_step_finish_has_title_status_and_duration() -> None:
    entry = timeline.describe(
        event(
            "step_finish",
            {
                "step_key": "fetch",
                "step_type": "run",
                "status": "failed",
                "duration_ms": 3.25,
                "error": "boom",
                "execution_id": "e1",
            },
        )
    )
    assert (entry["title"], entry["status"], entry["duration_ms"], entry["category"]) == (
        "Step fetch",
        "failed",
        3.25,
        "step",
    )
    assert entry["execution_id"] == "e1" and entry["clock"] == "10:11:12.345"
    assert {"label": "Error", "value": "boom", "format": "text"} in entry["fields"]


def test_suspend_shows_form_context_readably_and_links_only_safe_urls() -> None:
    data = {
        "_form": {
            "title": "Run it?",
            "fields": [{"key": "approved", "label": "Approve"}],
            "context": {"command": "rm -rf build", "diff": "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new", "cwd": "/w"},
        },
        "_approval_url": "https://example.test/polos/approve/tok/",
        "_source": "exec_security",
    }
    entry = timeline.describe(event("suspend_exec-1", data))
    assert entry["title"] == "Waiting for approval: Run it?" and entry["status"] == "waiting"
    assert entry["link"] == "https://example.test/polos/approve/tok/"
    formats = {f["label"]: f["format"] for f in entry["fields"]}
    assert formats["Command"] == "code" and formats["Diff"] == "diff" and formats["Cwd"] == "text"
    diff = next(f for f in entry["fields"] if f["label"] == "Diff")
    assert [line["cls"] for line in diff["lines"]] == ["file", "file", "hunk", "del", "add"]
    assert any(f["value"] == "Approve" for f in entry["fields"])
    for bad in ("javascript:alert(1)", "//evil.test/x", "data:text/html,x", None, 5):
        assert timeline.describe(event("suspend_k", {"_approval_url": bad}))["link"] is None


def test_tool_llm_agent_and_unknown_events() -> None:
    tool = timeline.describe(event("tool_finish", {"tool_name": "exec", "output": {"stdout": "hi"}}))
    assert (tool["category"], tool["title"], tool["status"]) == ("tool", "Tool finished: exec", "completed")
    llm = timeline.describe(
        event(
            "llm_call",
            {"model": "claude", "response": {"usage": {"input_tokens": 5}}, "reasoning": "think", "cost_usd": 0.5},
        )
    )
    assert llm["category"] == "llm" and llm["usage"] == {"input_tokens": 5} and llm["cost_usd"] == 0.5
    assert any(f["label"] == "Reasoning" for f in llm["fields"])
    agent = timeline.describe(event("agent_finish", {"agent_id": "coder", "error": "x"}))
    assert (agent["category"], agent["status"]) == ("agent", "failed")
    odd = timeline.describe(event("my.custom", [1, 2, 3]))
    assert odd["category"] == "event" and odd["title"] == "my.custom"
    assert odd["fields"] == [
        {"label": "Data", "value": '{\n  "value": [\n    1,\n    2,\n    3\n  ]\n}', "format": "json"}
    ]


def test_text_deltas_of_one_execution_merge() -> None:
    events = [
        event("text_delta", {"text": "Hel", "execution_id": "a"}, 1),
        event("text_delta", {"text": "lo", "execution_id": "a"}, 2),
        event("text_delta", {"text": "!", "execution_id": "b"}, 3),
    ]
    entries = timeline.build(events)
    assert [e["fields"][0]["value"] for e in entries] == ["Hello", "!"]
    assert entries[0]["seq"] == 2


def test_totals_prefer_llm_entries_over_agent_sums() -> None:
    entries = timeline.build(
        [
            event("llm_call", {"usage": {"input_tokens": 10, "output_tokens": 1}, "cost_usd": 0.25}, 1),
            event("llm_call", {"usage": {"input_tokens": 5, "output_tokens": 2}, "cost_usd": 0.5}, 2),
            event("agent_finish", {"usage": {"input_tokens": 15, "output_tokens": 3}, "cost_usd": 0.75}, 3),
        ]
    )
    assert timeline.totals(entries) == {"input_tokens": 15, "output_tokens": 3, "cost_usd": 0.75}
    assert timeline.totals([]) == {"input_tokens": 0, "output_tokens": 0, "cost_usd": None}


def test_huge_values_are_cut() -> None:
    entry = timeline.describe(event("tool_finish", {"output": "x" * (timeline.MAX_FIELD_CHARS + 50)}))
    assert entry["fields"][0]["value"].endswith("(50 more characters)")


def test_agent_events_as_the_agent_loop_writes_them() -> None:
    meta = {"execution_id": "agent-1", "workflow_id": "coder", "agent_id": "coder"}
    call = timeline.describe(
        event(
            "tool_call",
            {
                "step": 1,
                "_metadata": meta,
                "tool_call": {"id": "c1", "function": {"name": "exec", "arguments": '{"command": "ls"}'}},
            },
        )
    )
    assert (call["title"], call["execution_id"]) == ("Tool call: exec", "agent-1")
    assert call["fields"] == [{"label": "Arguments", "value": '{\n  "command": "ls"\n}', "format": "json"}]
    delta = timeline.describe(event("text_delta", {"step": 1, "chunk_index": 1, "content": "Hi", "_metadata": meta}))
    assert delta["fields"][0]["value"] == "Hi" and delta["execution_id"] == "agent-1"
    finish = timeline.describe(
        event(
            "agent_finish",
            {"result": {"result": "done", "total_steps": 3, "usage": {"input_tokens": 7}}, "_metadata": meta},
        )
    )
    assert (finish["title"], finish["subtitle"], finish["usage"]) == (
        "Agent finish: coder",
        "3 steps",
        {"input_tokens": 7},
    )
    assert all(f["label"] != "Data" or "_metadata" not in f["value"] for f in finish["fields"])


def test_llm_step_records_show_response_reasoning_usage_and_cost() -> None:
    entry = timeline.describe(
        event("step_finish", {"step_key": "llm_1", "step_type": "llm", "status": "completed", "duration_ms": 120.0})
    )
    response = {
        "content": [
            {"type": "reasoning", "text": "The user wants a file."},
            {"type": "text", "text": "Creating it."},
            {"type": "tool_use", "id": "t1", "name": "write", "input": {"path": "a.js"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 80},
        "model": "claude-sonnet-4-5",
        "cost_usd": 0.0012,
    }
    import json

    timeline.add_step_record(entry, json.dumps(response), None)
    assert (entry["category"], entry["title"], entry["subtitle"]) == ("llm", "LLM call llm_1", "claude-sonnet-4-5")
    assert entry["usage"] == {"input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 80}
    assert entry["cost_usd"] == 0.0012
    labels = [f["label"] for f in entry["fields"]]
    assert labels == ["Reasoning", "Response", "Tool calls", "Stop reason"]
    plain = timeline.describe(event("step_finish", {"step_key": "s", "step_type": "run"}))
    timeline.add_step_record(plain, '{"rows": 3}', None)
    assert plain["fields"] == [{"label": "Output", "value": '{\n  "rows": 3\n}', "format": "json"}]


def test_notification_events() -> None:
    sent = timeline.describe(event("notification_sent", {"channel": "slack", "step_key": "approve"}))
    assert (sent["title"], sent["status"], sent["subtitle"]) == ("Notification sent: slack", "completed", "for approve")
    failed = timeline.describe(event("notification_failed", {"channel": "sms", "step_key": "k", "error": "503"}))
    assert (failed["title"], failed["status"]) == ("Notification failed: sms", "failed")
    assert {"label": "Error", "value": "503", "format": "text"} in failed["fields"]
