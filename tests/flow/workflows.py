"""Workflows of the flow-control tests (imported by the test workers through POLOS["WORKFLOW_MODULES"])."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from polos import BatchEventPayload, SchedulePayload, WorkflowContext, queue, ratelimit, workflow

# Celery queue names of this test session alone (several sessions may share one Redis server).
SESSION = os.environ.get("POLOS_TEST_QUEUE", "polos-test")
LANE_QUEUE = f"{SESSION}-lane"
TOPIC = f"{SESSION}-orders"
BUCKET = f"{SESSION}-bucket"
RATED_QUEUE = f"{SESSION}-rated"
BATCH_TOPIC = f"{SESSION}-clicks"

lane = queue(LANE_QUEUE, concurrency_limit=3)


@workflow(id="flow_lane_job", queue=lane)
async def lane_job(ctx: WorkflowContext, payload: dict[str, Any]) -> int:
    await ctx.step.run("work", asyncio.sleep, float(payload.get("seconds", 0.05)))
    return int(payload.get("n", 0))


@workflow(id="flow_sleeper")
async def sleeper(ctx: WorkflowContext, payload: dict[str, Any]) -> str:
    await ctx.step.run("first", lambda: "ok")
    # A synchronous step that ignores cancellation: only a hard kill stops it.
    await ctx.step.run("sleep", time.sleep, float(payload.get("seconds", 60)))
    return "slept"


@workflow(id="flow_on_order", trigger_on_event=TOPIC)
async def on_order(ctx: WorkflowContext, payload: BatchEventPayload) -> list[Any]:
    return [event.data for event in payload.events]


@workflow(id="flow_on_clicks", trigger_on_event=BATCH_TOPIC, batch_size=3, batch_timeout_seconds=1.0)
async def on_clicks(ctx: WorkflowContext, payload: BatchEventPayload) -> list[Any]:
    return [event.data for event in payload.events]


@workflow(id="flow_scheduled", schedule=True)
async def scheduled(ctx: WorkflowContext, payload: SchedulePayload) -> str:
    return payload.timestamp.isoformat()


async def _take_token() -> float:
    await ratelimit.acquire(BUCKET)
    return time.time()


@workflow(id="flow_rated_call")
async def rated_call(ctx: WorkflowContext) -> float:
    return float(await ctx.step.run("take", _take_token))


@workflow(id="flow_rated_queue", queue=RATED_QUEUE)
async def rated_queue(ctx: WorkflowContext) -> float:
    return time.time()
