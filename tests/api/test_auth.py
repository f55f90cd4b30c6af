"""Every endpoint refuses callers without a valid key of the right project."""

from __future__ import annotations

from typing import Any

import pytest

from polos_django import client as local
from polos_django.keys import revoke_key
from polos_django.models import ApiKey
from tests.api.conftest import PARKED, Tenant, api_client

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/workflows", None),
    ("post", "/api/v1/workflows/dj_noop/run", {"payload": {}}),
    ("post", "/api/v1/workflows/batch_run", {"workflows": [{"id": "dj_noop", "payload": {}}]}),
    ("get", "/api/v1/executions", None),
    ("get", "/api/v1/executions/{id}", None),
    ("post", "/api/v1/executions/{id}/cancel", None),
    ("get", "/api/v1/executions/{id}/result?timeout=0", None),
    ("post", "/api/v1/executions/{id}/resume", {"step_key": "approve", "data": {}}),
    ("post", "/api/v1/events/publish", {"topic": "t", "data": {}}),
    ("post", "/api/v1/events/batch_publish", {"topic": "t", "events": [{"data": {}}]}),
    ("get", "/api/v1/events?topic=t", None),
    ("get", "/api/v1/events/stream?topic=t", None),
    ("get", "/api/v1/workflows/dj_noop/runs/{id}/events/stream", None),
]
IDS = [f"{m.upper()} {u.split('?')[0]}" for m, u, _ in ENDPOINTS]


def call(client: Any, method: str, url: str, body: dict[str, Any] | None, execution_id: str) -> Any:
    url = url.replace("{id}", execution_id)
    return getattr(client, method)(url, body, format="json") if method == "post" else client.get(url)


@pytest.fixture
def execution_id(tenant: Tenant) -> str:
    return local.invoke("dj_noop", {}, PARKED, project_id=tenant.project_id).id


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS, ids=IDS)
def test_no_key_is_401(tenant: Tenant, execution_id: str, method: str, url: str, body: Any) -> None:
    response = call(api_client(None), method, url, body, execution_id)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS, ids=IDS)
def test_other_projects_key_is_403(
    tenant: Tenant, other_tenant: Tenant, execution_id: str, method: str, url: str, body: Any
) -> None:
    """A key of project B asking for project A."""
    response = call(api_client(other_tenant, project_id=tenant.project_id), method, url, body, execution_id)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS, ids=IDS)
def test_revoked_key_is_401(tenant: Tenant, execution_id: str, method: str, url: str, body: Any) -> None:
    revoke_key(ApiKey.objects.get(pk=tenant.key_id))
    response = call(api_client(tenant), method, url, body, execution_id)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_a_key_in_use_stops_working_when_revoked(tenant: Tenant) -> None:
    """Verified keys are remembered briefly; revoking one forgets it at once (in this process)."""
    client = api_client(tenant)
    assert client.get("/api/v1/workflows").status_code == 200
    revoke_key(ApiKey.objects.get(pk=tenant.key_id))
    assert client.get("/api/v1/workflows").status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer polos_nothing", "Bearer polos_0123abcd_wrong"])
def test_malformed_or_unknown_keys_are_401(tenant: Tenant, header: str) -> None:
    client = api_client(None)
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/executions")
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")


def test_a_key_never_sees_another_projects_data(tenant: Tenant, other_tenant: Tenant, execution_id: str) -> None:
    """Project B's key on its own project: A's execution and A's topic do not exist for it."""
    local.publish("shared-topic", {"event_type": "secret", "data": {"p": "alpha"}}, project_id=tenant.project_id)
    other = api_client(other_tenant)
    for method, url in [
        ("get", f"/api/v1/executions/{execution_id}"),
        ("post", f"/api/v1/executions/{execution_id}/cancel"),
        ("get", f"/api/v1/executions/{execution_id}/result?timeout=0"),
        ("get", f"/api/v1/workflows/dj_noop/runs/{execution_id}/events/stream"),
    ]:
        response = getattr(other, method)(url)
        assert (response.status_code, response.json()["code"]) == (404, "execution_not_found"), url
    resume = other.post(f"/api/v1/executions/{execution_id}/resume", {"step_key": "x"}, format="json")
    assert resume.status_code == 404
    assert other.get("/api/v1/executions").json()["count"] == 0
    assert other.get("/api/v1/events?topic=shared-topic").json()["events"] == []
    mine = api_client(tenant).get("/api/v1/events?topic=shared-topic").json()["events"]
    assert [e["data"] for e in mine] == [{"p": "alpha"}]


def test_the_key_alone_selects_its_project(tenant: Tenant, execution_id: str) -> None:
    client = api_client(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.key}")
    assert client.get(f"/api/v1/executions/{execution_id}").json()["project_id"] == tenant.project_id


def test_schema_and_docs_are_public(transactional_db: Any) -> None:
    client = api_client(None)
    assert client.get("/api/v1/schema/?format=json").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200
