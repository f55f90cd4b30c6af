"""The UI's live timeline socket: staff sessions only, same-origin, backlog then live entries."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from polos.store import NewEvent
from polos_django.store import get_store
from polos_django.ui.routing import websocket_urlpatterns
from tests.ui.conftest import make_execution

pytestmark = [pytest.mark.timeout(60), pytest.mark.django_db(transaction=True)]

application = URLRouter(websocket_urlpatterns)


def socket(execution_id: str, user: Any, headers: list[tuple[bytes, bytes]] | None = None, query: str = "") -> Any:
    ws = WebsocketCommunicator(application, f"/ws/ui/executions/{execution_id}/{query}", headers=headers or [])
    ws.scope["user"] = user
    return ws


async def refused(ws: Any) -> tuple[str, int]:
    connected, _ = await ws.connect()
    assert connected
    message = await ws.receive_json_from(timeout=5)
    close = await ws.receive_output(timeout=5)
    return message["code"], close["code"]


async def test_only_active_staff_on_the_same_origin_may_watch(django_user_model: Any) -> None:
    execution = await sync_to_async(make_execution)("w", "running")
    visitor = await sync_to_async(django_user_model.objects.create_user)("v", password="x")
    staff = await sync_to_async(django_user_model.objects.create_user)("s", password="x", is_staff=True)
    assert await refused(socket(execution.id, AnonymousUser())) == ("unauthenticated", 4401)
    assert await refused(socket(execution.id, visitor)) == ("forbidden", 4403)
    cross = [(b"origin", b"http://evil.test"), (b"host", b"127.0.0.1:8000")]
    assert await refused(socket(execution.id, staff, cross)) == ("forbidden", 4403)
    assert await refused(socket("missing", staff)) == ("execution_not_found", 4404)
    assert await refused(socket(execution.id, staff, query="?last_sequence_id=x")) == ("invalid_request", 4400)


async def test_backlog_then_live_entries_then_end(django_user_model: Any) -> None:
    execution = await sync_to_async(make_execution)("w", "running")
    staff = await sync_to_async(django_user_model.objects.create_user)("s", password="x", is_staff=True)
    store = get_store()
    first = await sync_to_async(store.publish_events)(
        execution.topic, [NewEvent("step_finish", {"step_key": "a", "status": "completed"})], execution.project_id
    )
    same = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    ws = socket(execution.id, staff, same)
    assert (await ws.connect())[0]
    backlog = await ws.receive_json_from(timeout=5)
    assert backlog["type"] == "entry" and backlog["entry"]["title"] == "Step a"
    assert backlog["entry"]["seq"] == first[0].sequence_id
    await sync_to_async(store.publish_events)(
        execution.topic, [NewEvent("tool_finish", {"tool_name": "<b>x</b>", "output": "ok"})], execution.project_id
    )
    live = await ws.receive_json_from(timeout=10)
    assert live["entry"]["title"] == "Tool finished: <b>x</b>"  # plain text; the page sets textContent
    await sync_to_async(store.publish_events)(
        execution.topic,
        [NewEvent("workflow_finish", {"execution_id": execution.id, "status": "completed", "workflow_id": "w"})],
        execution.project_id,
    )
    await sync_to_async(type(execution).objects.filter(pk=execution.pk).update)(status="completed")
    finish = await ws.receive_json_from(timeout=10)
    assert finish["entry"]["status"] == "completed"
    assert await ws.receive_json_from(timeout=10) == {"type": "end"}
    await ws.disconnect()
