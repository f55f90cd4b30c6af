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
