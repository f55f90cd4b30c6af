"""SSE streams: replay from the database, then live; cursors; workflow runs end at their finish."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from polos import EventData, PolosClient, events
from polos.store import NewEvent
from polos_django.api import streams
from polos_django.store import get_store
from tests.api.conftest import PARKED, LiveServer, Tenant

pytestmark = pytest.mark.timeout(120)


def client_for(server: LiveServer, tenant: Tenant) -> PolosClient:
    return PolosClient(server.url, tenant.key, tenant.project_id)


async def take(stream: Any, count: int, timeout: float = 20.0) -> list[Any]:
    async def collect() -> list[Any]:
        found = []
        async for event in stream:
            found.append(event)
            if len(found) == count:
                break
        return found

    return await asyncio.wait_for(collect(), timeout)


async def test_topic_stream_replays_then_follows_then_resumes(
    live_api: LiveServer, tenant: Tenant, other_tenant: Tenant
) -> None:
    client, other = client_for(live_api, tenant), client_for(live_api, other_tenant)
    before = [await events.publish(client, "jobs", EventData(event_type="job", data={"n": n})) for n in (1, 2, 3)]
    await events.publish(other, "jobs", EventData(event_type="job", data={"n": "other project"}))

    stream = events.stream_topic(client, "jobs")  # no cursor: from the beginning of the topic
    backlog = await take(stream, 3)
    assert [e.sequence_id for e in backlog] == before
    assert [e.data for e in backlog] == [{"n": 1}, {"n": 2}, {"n": 3}]

    later = await events.batch_publish(client, "jobs", [EventData(event_type="job", data={"n": n}) for n in (4, 5)])
    await other.publish_events("jobs", [{"event_type": "job", "data": {"n": "other project"}}])
    live = await take(stream, 2)
    assert [e.sequence_id for e in live] == later and [e.data["n"] for e in live] == [4, 5]
    await stream.aclose()

    # A new connection with the last sequence id seen resumes exactly after it.
    resumed = await take(events.stream_topic(client, "jobs", last_sequence_id=backlog[-1].sequence_id), 2)
    assert [e.sequence_id for e in resumed] == later
    assert all(e.topic == "jobs" and e.event_type == "job" for e in resumed)
    await client.aclose()
    await other.aclose()


async def test_timestamp_cursor(live_api: LiveServer, tenant: Tenant) -> None:
    client = client_for(live_api, tenant)
    await events.publish(client, "clock", EventData(event_type="old", data={}))
    await asyncio.sleep(0.05)
    cutoff = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.05)
    await events.publish(client, "clock", EventData(event_type="new", data={}))
    [first] = await take(events.stream_topic(client, "clock", last_timestamp=cutoff), 1)
    assert first.event_type == "new"


async def test_raw_sse_format_and_last_event_id(live_api: LiveServer, tenant: Tenant) -> None:
    client = client_for(live_api, tenant)
    [a, b] = await client.publish_events("raw", [{"event_type": "a", "data": {"x": 1}}, {"event_type": "b"}])
    headers = {"Authorization": f"Bearer {tenant.key}", "Last-Event-ID": str(a)}
    async with (
        httpx.AsyncClient(base_url=live_api.url, headers=headers, timeout=10) as http,
        http.stream("GET", "/api/v1/events/stream", params={"topic": "raw"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        async for line in response.aiter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert lines[:2] == ["retry: 1000", ""]
    assert lines[2] == f"id: {b}"
    body = json.loads(lines[3][len("data: ") :])
    assert body["sequence_id"] == b and body["event_type"] == "b" and body["topic"] == "raw"


@pytest.mark.worker
async def test_workflow_stream_replays_a_finished_run_and_ends(
    live_api: LiveServer, tenant: Tenant, worker: Any
) -> None:
    client = client_for(live_api, tenant)
    handle = await client.invoke("dj_steps", {"steps": 3})
    await client.wait_for_result(handle.id, timeout=30)
    received = await take(events.stream_workflow(client, handle.root_workflow_id, handle.id), 100)
    types = [e.event_type for e in received]
    assert types[0] == "workflow_start" and types[-1] == "workflow_finish" and types.count("step_finish") == 3
    assert [e.sequence_id for e in received] == sorted(e.sequence_id for e in received)


@pytest.mark.worker
async def test_the_canonical_approval_loop(live_api: LiveServer, tenant: Tenant, worker: Any) -> None:
    """API.md's main.py: stream the run, resume each suspend_* event, read the result."""
    client = client_for(live_api, tenant)
    handle = await client.invoke("dj_approval", {})
    seen = []
    async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
        seen.append(event.event_type)
        if event.event_type and event.event_type.startswith("suspend_"):
            step_key = event.event_type[len("suspend_") :]
            assert event.data["_form"]["title"] == "Approve?"
            await client.resume(handle.root_workflow_id, handle.id, step_key, {"approved": True})
    assert seen[-1] == "workflow_finish" and "resume_approve" in seen
    execution = await client.get_execution(handle.id)
    assert execution["result"] == {"approved": True}


@pytest.mark.worker
@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
async def test_workflow_stream_ends_when_the_run_fails_or_is_cancelled(
    live_api: LiveServer, tenant: Tenant, worker: Any, outcome: str
) -> None:
    client = client_for(live_api, tenant)
    if outcome == "failed":
        handle = await client.invoke("dj_child", {"i": 1, "fail": True})
    else:
        handle = await client.invoke("dj_approval", {})
    received = []
    async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
        received.append(event)
        if event.event_type == "suspend_approve":
            await client.cancel_execution(handle.id)
    last = received[-1]
    assert last.event_type == ("workflow_finish" if outcome == "failed" else "workflow_cancel")
    assert last.data["status"] == outcome and last.data["execution_id"] == handle.id


async def test_client_reconnects_after_the_last_sequence_id() -> None:
    """A dropped connection (no end marker) is re-opened with the cursor; the end marker stops it."""
    requests: list[httpx.Request] = []

    def body(*seqs: int, end: bool = False) -> bytes:
        chunks = [b"retry: 1000\n\n"]
        for seq in seqs:
            event = {"id": str(seq), "sequence_id": seq, "topic": "workflow/w/r", "event_type": "step", "data": {}}
            chunks.append(f"id: {seq}\ndata: {json.dumps(event)}\n\n".encode())
        if end:
            chunks.append(b'event: end\ndata: {"end": true}\n\n')
        return b"".join(chunks)

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if len(requests) == 1:
            return httpx.Response(200, content=body(5, 7))
        if len(requests) == 2:
            return httpx.Response(503, json={"code": "unavailable", "message": "restarting"})
        return httpx.Response(200, content=body(9, end=True))

    client = PolosClient("http://polos.test", "polos_abcdefgh_secret", "proj", transport=httpx.MockTransport(handler))
    received = [e.sequence_id async for e in events.stream_workflow(client, "w", "r")]
    assert received == [5, 7, 9]
    assert [r.url.params.get("last_sequence_id") for r in requests] == [None, "7", "7"]
    assert requests[0].headers["authorization"] == "Bearer polos_abcdefgh_secret"
    assert requests[0].headers["x-project-id"] == "proj"


async def test_follow_sends_keepalives_and_ends_for_a_finished_run(transactional_db: Any) -> None:
    store = get_store()
    publish = sync_to_async(store.publish_events)
    await publish("quiet", [NewEvent("one", {})], "p1")
    stream = streams.follow("quiet", "p1", keepalive=0.2)
    first = await asyncio.wait_for(stream.__anext__(), 5)
    assert first is not None and first.event_type == "one"
    assert await asyncio.wait_for(stream.__anext__(), 5) is None  # a keep-alive tick
    await publish("quiet", [NewEvent("two", {})], "p1")
    second = await asyncio.wait_for(stream.__anext__(), 5)
    assert second is not None and second.event_type == "two"
    await stream.aclose()

    from polos_django import client as local

    handle = await sync_to_async(local.invoke)("dj_noop", {}, PARKED, project_id="p1")
    await sync_to_async(local.cancel)(handle.id)
    run = [e async for e in streams.follow(handle.topic, "p1", until_finished=handle.id)]
    assert [e.event_type for e in run if e is not None] == ["workflow_cancel"]
    # After the finish, a stream from past it ends at once instead of waiting forever.
    past = [e async for e in streams.follow(handle.topic, "p1", after=run[-1].sequence_id, until_finished=handle.id)]
    assert past == []


async def test_a_closed_stream_releases_its_subscription(live_api: LiveServer, tenant: Tenant) -> None:
    import redis.asyncio as aioredis

    from polos_django.conf import polos_settings

    topic = f"leak-{uuid.uuid4().hex[:8]}"
    channel = f"polos:topic:{topic}"
    redis_client = aioredis.Redis.from_url(polos_settings.REDIS_URL)

    async def subscribers() -> int:
        return int(dict(await redis_client.pubsub_numsub(channel))[channel.encode()])

    client = client_for(live_api, tenant)
    await client.publish_events(topic, [{"event_type": "x"}])
    stream = events.stream_topic(client, topic)
    await take(stream, 1)
    assert await subscribers() == 1
    await stream.aclose()
    await client.aclose()
    for _ in range(100):
        if await subscribers() == 0:
            break
        await asyncio.sleep(0.05)
    assert await subscribers() == 0
    await redis_client.aclose()
