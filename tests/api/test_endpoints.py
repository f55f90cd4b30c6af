"""Request validation, error codes and the endpoints that need no worker."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from polos_django import client as local
from polos_django.models import Execution
from tests.api.conftest import PARKED, Tenant


def error(response: Any) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["code"], body.get("field")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/workflows/dj_noop/run", {"run_timeout_seconds": -1}, "run_timeout_seconds"),
        ("/api/v1/workflows/dj_noop/run", {"queue_concurrency_limit": 0}, "queue_concurrency_limit"),
        ("/api/v1/workflows/dj_noop/run", {"session_id": "x" * 300}, "session_id"),
        ("/api/v1/workflows/batch_run", {"workflows": []}, "workflows"),
        ("/api/v1/workflows/batch_run", {"workflows": [{"payload": {}}]}, "workflows.0.id"),
        ("/api/v1/workflows/batch_run", {}, "workflows"),
        ("/api/v1/executions/abc/resume", {"data": {}}, "step_key"),
        ("/api/v1/events/publish", {"event_type": "x"}, "topic"),
        ("/api/v1/events/batch_publish", {"topic": "t", "events": [{"event_type": 5, "data": 1}, []]}, "events.1"),
    ],
)
def test_invalid_bodies_name_the_field(api: APIClient, url: str, body: dict[str, Any], field: str) -> None:
    response = api.post(url, body, format="json")
    assert error(response) == (400, "invalid_request", field)
    assert field in response.json()["message"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/executions?status=bogus", "status"),
        ("/api/v1/executions?limit=0", "limit"),
        ("/api/v1/events", "topic"),
        ("/api/v1/events?topic=t&after=-1", "after"),
        ("/api/v1/executions/abc/result?timeout=-1", "timeout"),
        ("/api/v1/executions/abc/result?timeout=1000", "timeout"),
        ("/api/v1/events/stream", "topic"),
        ("/api/v1/events/stream?workflow_run_id=abc", "workflow_id"),
        ("/api/v1/events/stream?topic=t&last_sequence_id=x", "last_sequence_id"),
    ],
)
def test_invalid_queries_name_the_field(api: APIClient, url: str, field: str) -> None:
    assert error(api.get(url)) == (400, "invalid_request", field)


def test_malformed_json_is_invalid_request(api: APIClient) -> None:
    response = api.generic("POST", "/api/v1/events/publish", "{not json", content_type="application/json")
    assert error(response)[:2] == (400, "invalid_request")


def test_not_found(api: APIClient) -> None:
    assert error(api.post("/api/v1/workflows/nope/run", {}, format="json"))[:2] == (404, "workflow_not_found")
    assert error(api.get("/api/v1/executions/nope"))[:2] == (404, "execution_not_found")
    assert error(api.post("/api/v1/executions/nope/cancel"))[:2] == (404, "execution_not_found")
    assert error(api.get("/api/v1/executions/nope/result?timeout=0"))[:2] == (404, "execution_not_found")
    assert error(api.get("/api/v1/workflows/x/runs/nope/events/stream"))[:2] == (404, "execution_not_found")
    assert error(api.get("/api/v1/no/such/endpoint"))[:2] == (404, "not_found")
    assert error(api.get("/api/nothing"))[:2] == (404, "not_found")
    assert error(api.delete("/api/v1/executions"))[:2] == (405, "method_not_allowed")
    assert error(api.delete("/api/v1/events/stream?topic=t"))[:2] == (405, "method_not_allowed")


def test_invalid_payload_is_400_naming_the_field(api: APIClient) -> None:
    response = api.post("/api/v1/workflows/dj_steps/run", {"payload": {"steps": "many"}}, format="json")
    assert error(response)[:2] == (400, "invalid_payload")
    assert "steps" in response.json()["message"]


def test_invoke_returns_a_handle(api: APIClient, tenant: Tenant) -> None:
    body = {
        "payload": {"steps": 2},
        "session_id": "s1",
        "user_id": "u1",
        "run_timeout_seconds": 30,
        "queue_name": PARKED,
    }
    response = api.post("/api/v1/workflows/dj_steps/run/", body, format="json")  # trailing slash works too
    assert response.status_code == 201
    handle = response.json()
    assert handle["workflow_id"] == handle["root_workflow_id"] == "dj_steps"
    assert handle["root_execution_id"] == handle["id"]
    assert (handle["session_id"], handle["user_id"]) == ("s1", "u1")
    row = Execution.objects.get(pk=handle["id"])
    assert (row.project_id, row.status, row.run_timeout_seconds, row.queue_name) == (
        tenant.project_id,
        "queued",
        30,
        PARKED,
    )


def test_batch_run_is_all_or_nothing(api: APIClient, tenant: Tenant) -> None:
    items = [{"id": "dj_noop", "payload": {"steps": 1}}, {"id": "dj_steps", "payload": {"steps": 1}}]
    response = api.post("/api/v1/workflows/batch_run", {"workflows": items, "session_id": "s"}, format="json")
    assert response.status_code == 201
    handles = response.json()["executions"]
    assert [h["workflow_id"] for h in handles] == ["dj_noop", "dj_steps"]
    bad = [*items, {"id": "missing_workflow"}]
    assert error(api.post("/api/v1/workflows/batch_run", {"workflows": bad}, format="json"))[:2] == (
        404,
        "workflow_not_found",
    )
    assert Execution.objects.filter(project_id=tenant.project_id).count() == 2


def test_get_list_filter_and_paginate(api: APIClient, tenant: Tenant) -> None:
    ids = [
        local.invoke("dj_noop", {}, PARKED, session_id=f"s{i % 2}", project_id=tenant.project_id).id for i in range(5)
    ]
    execution = api.get(f"/api/v1/executions/{ids[0]}").json()
    assert execution["status"] == "queued" and execution["workflow_id"] == "dj_noop"
    page = api.get("/api/v1/executions?limit=2").json()
    assert (page["count"], len(page["results"]), page["next_offset"]) == (5, 2, 2)
    assert [r["id"] for r in page["results"]] == ids[::-1][:2]  # newest first
    rest = api.get("/api/v1/executions?limit=2&offset=4").json()
    assert [r["id"] for r in rest["results"]] == [ids[0]] and rest["next_offset"] is None
    assert api.get("/api/v1/executions?session_id=s0").json()["count"] == 3
    assert api.get("/api/v1/executions?status=queued&workflow_id=dj_noop").json()["count"] == 5
    assert api.get(f"/api/v1/executions?root_execution_id={ids[1]}").json()["count"] == 1
    assert api.get("/api/v1/executions?status=completed").json()["count"] == 0


def test_cancel_then_cancel_again(api: APIClient, tenant: Tenant) -> None:
    handle = local.invoke("dj_noop", {}, PARKED, project_id=tenant.project_id)
    assert api.post(f"/api/v1/executions/{handle.id}/cancel").json() == {"cancelled": True, "status": "cancelled"}
    assert api.post(f"/api/v1/executions/{handle.id}/cancel").json() == {"cancelled": False, "status": "cancelled"}
    result = api.get(f"/api/v1/executions/{handle.id}/result?timeout=0").json()
    assert result["status"] == "cancelled" and "cancelled" in result["message"]


def test_result_times_out_with_408(api: APIClient, tenant: Tenant) -> None:
    handle = local.invoke("dj_noop", {}, PARKED, project_id=tenant.project_id)
    assert error(api.get(f"/api/v1/executions/{handle.id}/result?timeout=0.05"))[:2] == (408, "timeout")
    assert Execution.objects.get(pk=handle.id).status == "queued"  # the wait does not touch it


def test_resume_of_nothing_waiting_is_409(api: APIClient, tenant: Tenant) -> None:
    handle = local.invoke("dj_noop", {}, PARKED, project_id=tenant.project_id)
    response = api.post(f"/api/v1/executions/{handle.id}/resume", {"step_key": "approve"}, format="json")
    assert error(response)[:2] == (409, "not_waiting")


def test_publish_and_read_events_with_a_cursor(api: APIClient) -> None:
    first = api.post(
        "/api/v1/events/publish", {"topic": "orders", "event_type": "paid", "data": {"n": 1}}, format="json"
    )
    assert first.status_code == 201
    seq = first.json()["sequence_id"]
    events = [{"event_type": "paid", "data": {"n": n}} for n in (2, 3, 4)]
    batch = api.post("/api/v1/events/batch_publish", {"topic": "orders", "events": events}, format="json").json()
    assert batch["sequence_ids"] == sorted(batch["sequence_ids"]) and batch["sequence_ids"][0] > seq
    page = api.get("/api/v1/events?topic=orders&limit=3").json()
    assert [e["data"]["n"] for e in page["events"]] == [1, 2, 3] and page["has_more"]
    rest = api.get(f"/api/v1/events?topic=orders&after={page['next_after']}").json()
    assert [e["data"]["n"] for e in rest["events"]] == [4] and not rest["has_more"]
    assert rest["events"][0]["sequence_id"] == batch["sequence_ids"][-1]


def test_workflows_lists_the_registry(api: APIClient) -> None:
    workflows = {w["id"]: w for w in api.get("/api/v1/workflows").json()["workflows"]}
    assert workflows["dj_steps"]["type"] == "workflow" and workflows["dj_steps"]["source"] == "server"
    assert set(workflows["dj_steps"]) == {
        "id",
        "description",
        "type",
        "queue",
        "queue_concurrency_limit",
        "schedule",
        "trigger",
        "source",
        "last_seen",
        "available",
        "workers",
    }
