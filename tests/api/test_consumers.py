"""The live-trace websocket: authorized like the API, backlog then live events, in order."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from polos.store import NewEvent
from polos_django import client as local
from polos_django.routing import websocket_urlpatterns
from polos_django.store import get_store
from tests.api.conftest import PARKED, Tenant

pytestmark = pytest.mark.timeout(60)

application = URLRouter(websocket_urlpatterns)


def communicator(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers or [])


async def publish(topic: str, project_id: str, *events: NewEvent) -> list[int]:
    records = await sync_to_async(get_store().publish_events)(topic, list(events), project_id)
    return [r.sequence_id for r in records]


async def test_backlog_then_live_then_end(tenant: Tenant) -> None:
    handle = await sync_to_async(local.invoke)("dj_noop", {}, PARKED, project_id=tenant.project_id)
    backlog = await publish(handle.topic, tenant.project_id, NewEvent("one", {"n": 1}), NewEvent("two", {"n": 2}))
    ws = communicator(f"/ws/executions/{handle.id}/?api_key={tenant.key}")
    connected, _ = await ws.connect()
    assert connected
    received = [await ws.receive_json_from(timeout=5) for _ in backlog]
    assert [m["event"]["sequence_id"] for m in received] == backlog
    assert [m["event"]["event_type"] for m in received] == ["one", "two"]

    live = await publish(handle.topic, tenant.project_id, NewEvent("three", {"n": 3}))
    message = await ws.receive_json_from(timeout=5)
    assert message == {"type": "event", "event": {**message["event"], "sequence_id": live[0], "event_type": "three"}}

    await sync_to_async(local.cancel)(handle.id, project_id=tenant.project_id)
    finish = await ws.receive_json_from(timeout=5)
    assert finish["event"]["event_type"] == "workflow_cancel"
    assert await ws.receive_json_from(timeout=5) == {"type": "end"}
    assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"


async def test_header_auth_and_cursor(tenant: Tenant) -> None:
    handle = await sync_to_async(local.invoke)("dj_noop", {}, PARKED, project_id=tenant.project_id)
    seqs = await publish(handle.topic, tenant.project_id, NewEvent("a"), NewEvent("b"), NewEvent("c"))
    headers = [(b"authorization", f"Bearer {tenant.key}".encode()), (b"x-project-id", tenant.project_id.encode())]
    ws = communicator(f"/ws/executions/{handle.id}/?last_sequence_id={seqs[0]}", headers)
    assert (await ws.connect())[0]
    received = [(await ws.receive_json_from(timeout=5))["event"]["sequence_id"] for _ in range(2)]
    assert received == seqs[1:]
    await ws.disconnect()


@pytest.mark.parametrize(
    ("case", "close_code", "code"),
    [
        ("no key", 4401, "unauthenticated"),
        ("bad key", 4401, "unauthenticated"),
        ("other project's key for this project", 4403, "forbidden"),
        ("other project's key on its own project", 4404, "execution_not_found"),
    ],
)
async def test_refused(tenant: Tenant, other_tenant: Tenant, case: str, close_code: int, code: str) -> None:
    handle = await sync_to_async(local.invoke)("dj_noop", {}, PARKED, project_id=tenant.project_id)
    query = {
        "no key": "",
        "bad key": "?api_key=polos_00000000_nope",
        "other project's key for this project": f"?api_key={other_tenant.key}&project_id={tenant.project_id}",
        "other project's key on its own project": f"?api_key={other_tenant.key}",
    }[case]
    ws = communicator(f"/ws/executions/{handle.id}/{query}")
    assert (await ws.connect())[0]
    error = await ws.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == code
    closed: Any = await ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": close_code}
