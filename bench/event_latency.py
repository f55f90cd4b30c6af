"""Live event latency: a step's ``publish_event`` in a worker -> the event at an SSE and a websocket client.

A real ``polos server start`` (``--no-worker --no-beat``, free port, fresh ``POLOS_HOME``),
by default on its **default SQLite database** (``$POLOS_HOME/polos.sqlite3``; ``--db postgres``
uses a fresh PostgreSQL database ``polos_bench_events_<hex>`` instead), with the external Redis
``redis://127.0.0.1:6379/15`` as broker and live-event Redis (flushed at start and end).  One
worker process, ``python -m bench.api_workflows`` (a ``polos.Worker``, solo pool), runs
``bench_api_events``:

1. it first waits for a "go" event on a gate topic (``ctx.step.wait_for_event``);
2. meanwhile this process opens both clients on the run: SSE, the SDK's
   ``events.stream_workflow()`` (``GET .../runs/{id}/events/stream``), and a websocket on
   ``ws/executions/{id}/?api_key=...`` (Channels' consumer; the client is ``autobahn``'s asyncio
   client, already installed with daphne: no ``websockets``/``aiohttp`` in the venv).  Each is
   known to be subscribed once it has received the run's first event (``workflow_start``, from the
   backlog: the server subscribes to Redis *before* reading the backlog).  When both are, and the
   execution is ``waiting``, the gate event is published (``client.publish_events``);
3. the workflow then publishes N = ``--events`` events on its own topic, ``--gap`` s apart, each
   with ``ctx.step.publish_event(key, ctx.topic, {"i": i, "t": time.time()})``: ``t`` is taken
   just **before** the step, which inserts and commits the event row; after the commit the runtime
   hands the event to its background publisher thread (Redis ``PUBLISH`` on the topic channel);
   the server's stream hears the doorbell, reads the events after its cursor from the database
   and sends them.  The workflow's result lists, per event, ``time.time()`` right **after**
   ``publish_event`` returned (i.e. after the commit).

Per event and client: ``arrival - t`` (arrival = ``time.time()`` when the client has the parsed
event; one host, one clock).  That is the conservative figure (it includes the step's own write and
commit) and the one the target is checked on; ``arrival - committed`` (from the end of the step) is
printed too.  Both clients run on one event loop in this process.  One warm-up run (20 events), then
one measured run.

Baseline, same run: a raw Redis pub/sub round trip on the same Redis from this process
(``PUBLISH`` of ``{"t": time.time()}`` on one connection, received by a subscriber on another
connection, same count and spacing), p50.

Target (issue): p50 <= 20 ms (SSE and websocket).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from . import common
from .api_invoke import REDIS_URL, Stack, describe_stack, server_stack

WORKFLOW = "bench_api_events"


class WsClient:
    """A websocket client of ``ws/executions/{id}/`` recording when each event arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.first = asyncio.Event()
        self.ended = asyncio.Event()
        self.errors: list[Any] = []
        self.transport: Any = None

    def on_message(self, now: float, payload: bytes) -> None:
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "event":
            self.first.set()
            event = message["event"]
            if event.get("event_type") == "bench_tick":
                self.arrivals[int(event["data"]["i"])] = now
        elif kind == "end":
            self.ended.set()
        elif kind == "error":
            self.errors.append(message)
            self.ended.set()

    async def connect(self, port: int, execution_id: str, api_key: str) -> None:
        from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

        bench = self

        class Protocol(WebSocketClientProtocol):
            def onMessage(self, payload: bytes, isBinary: bool) -> None:
                bench.on_message(time.time(), payload)

            def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
                bench.ended.set()

        url = f"ws://127.0.0.1:{port}/ws/executions/{execution_id}/?api_key={api_key}"
        factory = WebSocketClientFactory(url)
        factory.protocol = Protocol
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_connection(factory, "127.0.0.1", port)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def one_run(stack: Stack, n: int, gap: float) -> dict[str, Any]:
    from polos.features import events
    from polos.types import EventData

    client = stack.client()
    sse_client = stack.client()
    local = stack.local
    gate = f"bench/gate/{uuid.uuid4().hex[:8]}"
    handle = await client.invoke(WORKFLOW, {"n": n, "gap": gap, "gate": gate})

    sse_arrivals: dict[int, float] = {}
    sse_first = asyncio.Event()

    async def follow_sse() -> None:
        async for event in events.stream_workflow(sse_client, handle.root_workflow_id, handle.id):
            now = time.time()
            sse_first.set()
            if event.event_type == "bench_tick":
                sse_arrivals[int(event.data["i"])] = now

    sse_task = asyncio.create_task(follow_sse())
    ws = WsClient()
    try:
        await ws.connect(stack.server.port, handle.id, local["api_key"])
        await asyncio.wait_for(asyncio.gather(sse_first.wait(), ws.first.wait()), 30)
        deadline = time.monotonic() + 30
        while (await client.get_execution(handle.id))["status"] != "waiting":
            if time.monotonic() > deadline:
                raise TimeoutError("the workflow never waited on its gate")
            await asyncio.sleep(0.01)
        await client.publish_events(gate, [EventData(event_type="go", data={})])
        committed = await client.wait_for_result(handle.id, timeout=60)
        await asyncio.wait_for(sse_task, 30)
        await asyncio.wait_for(ws.ended.wait(), 30)
        if ws.errors:
            raise RuntimeError(f"websocket refused: {ws.errors}")
    finally:
        sse_task.cancel()
        ws.close()
        await client.aclose()
        await sse_client.aclose()

    # The sent timestamps are in the events' data; read them back from the topic.
    sent: dict[int, float] = {}
    after = 0
    reader = stack.client()
    try:
        while True:
            page = await reader.list_events(f"workflow/{handle.root_workflow_id}/{handle.id}", after=after, limit=500)
            for event in page["events"]:
                if event["event_type"] == "bench_tick":
                    sent[int(event["data"]["i"])] = float(event["data"]["t"])
            if not page.get("has_more"):
                break
            after = page["next_after"]
    finally:
        await reader.aclose()
    return {"n": n, "sent": sent, "committed": committed, "sse": sse_arrivals, "ws": ws.arrivals}


async def redis_round_trips(n: int, gap: float) -> list[float]:
    import redis.asyncio as aioredis

    channel = f"polos-bench:ping:{uuid.uuid4().hex[:8]}"
    subscriber = aioredis.Redis.from_url(REDIS_URL)
    publisher = aioredis.Redis.from_url(REDIS_URL)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(channel)
    await publisher.ping()
    latencies: list[float] = []

    async def receive() -> None:
        deadline = time.monotonic() + 30
        while len(latencies) < n:
            # None also means "a subscribe confirmation was consumed": only the deadline is an error.
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                if time.monotonic() > deadline:
                    raise TimeoutError("Redis pub/sub messages lost")
                continue
            now = time.time()
            latencies.append(now - json.loads(message["data"])["t"])

    try:
        receiver = asyncio.create_task(receive())
        await asyncio.sleep(0.05)
        for _ in range(n):
            await publisher.publish(channel, json.dumps({"t": time.time()}))
            await asyncio.sleep(gap)
        await asyncio.wait_for(receiver, 10)
    finally:
        await pubsub.aclose()
        await subscriber.aclose()
        await publisher.aclose()
    return latencies


def _args(parser: Any) -> None:
    parser.add_argument("--events", type=int, default=100, help="events published in the measured run")
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between two events (default 0.01)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    common.header("event_latency", args.db)
    with server_stack(args.db, "polos_bench_events", "--no-worker", "--no-beat") as stack:
        run(stack, args)


def run(stack: Stack, args: Any) -> None:
    describe_stack(stack, "server (--no-worker --no-beat)")
    common.line("worker", "python -m bench.api_workflows (polos.Worker, solo pool)")
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(one_run(stack, 20, args.gap))  # warm-up
        sessions = [stack.pg_sessions(settle=0)]
        res = loop.run_until_complete(one_run(stack, args.events, args.gap))
        sessions.append(stack.pg_sessions())
        redis_lat = loop.run_until_complete(redis_round_trips(args.events, args.gap))
    finally:
        loop.close()

    n = res["n"]
    sent, committed = res["sent"], res["committed"]
    common.line("events (measured run) / spacing", f"{n} / {args.gap * 1000:.0f} ms")
    figures: dict[str, float] = {}
    for name, label in (("sse", "SSE (events.stream_workflow)"), ("ws", "websocket (ws/executions/{id}/)")):
        arrivals = res[name]
        missing = n - len(arrivals)
        from_sent = [arrivals[i] - sent[i] for i in arrivals if i in sent]
        from_commit = [arrivals[i] - committed[i] for i in arrivals if i < len(committed)]
        p50, p90 = common.median(from_sent), common.percentile(from_sent, 90)
        figures[name] = p50
        common.line(
            f"{label}",
            f"p50 {common.ms(p50)}, p90 {common.ms(p90)}, max {common.ms(max(from_sent))}"
            + (f"  ({missing} of {n} missing!)" if missing else ""),
        )
        common.line(
            "  from the step's return (after commit)",
            f"p50 {common.ms(common.median(from_commit))}, p90 {common.ms(common.percentile(from_commit, 90))}",
        )
    step = [committed[i] - sent[i] for i in range(min(len(committed), n)) if i in sent]
    common.line("  publish_event step itself (write + commit)", f"p50 {common.ms(common.median(step))}")
    s0, s1 = sessions
    if s0 is not None and s1 is not None:
        opened = s1 - s0 - 1
        common.line("  PG sessions opened (measured run)", f"{opened} ({opened / n:.2f} per event)")
    r50, r90 = common.median(redis_lat), common.percentile(redis_lat, 90)
    common.line("baseline: raw Redis pub/sub round trip", f"p50 {common.ms(r50)}, p90 {common.ms(r90)}")
    common.ratio("ratio SSE / Redis pub/sub (p50)", figures["sse"], r50)
    common.ratio("ratio websocket / Redis pub/sub (p50)", figures["ws"], r50)
    common.target("SSE p50 <= 20 ms (from just before the step)", figures["sse"] <= 0.020)
    common.target("websocket p50 <= 20 ms (from just before the step)", figures["ws"] <= 0.020)


if __name__ == "__main__":
    main()
