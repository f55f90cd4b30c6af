"""Workflows of the server benchmarks (``bench.api_invoke``, ``bench.event_latency``), and their worker.

``python -m bench.api_workflows`` is the worker process: a ``polos.Worker`` (solo pool, one
execution at a time) serving the workflows below, like ``worker.py`` of the three-terminal journey
(docs/client.md).  The server does not import this module; the worker announces the workflows, so
the API accepts them.  Configured through the environment: ``POLOS_HOME``, ``POLOS_DATABASE_URL``,
``POLOS_BROKER_URL`` (the bundled server settings read them).  It touches
``$POLOS_BENCH_READY_FILE`` once it consumes its queue, and stops on SIGTERM / SIGINT.

Both workflows have an explicit queue, so an in-process ``polos_django.client.invoke`` (which does
not see the worker's routing) and an HTTP invoke (routed by the worker's announcement) send their
executions to the same queue, which only this worker consumes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from polos import WorkflowContext, workflow

QUEUE = "bench_api"


async def _noop() -> None:
    return None


@workflow(id="bench_api_noop", queue=QUEUE)
async def bench_api_noop(ctx: WorkflowContext, payload: dict[str, Any]) -> int:
    """One async no-op step."""
    await ctx.step.run("noop", _noop)
    return 1


@workflow(id="bench_api_events", queue=QUEUE)
async def bench_api_events(ctx: WorkflowContext, payload: dict[str, Any]) -> list[float]:
    """Wait for a "go" event on ``payload["gate"]``, then publish ``payload["n"]`` events on this
    run's topic, ``payload["gap"]`` seconds apart.

    Each event's data carries ``t``: ``time.time()`` taken just before ``publish_event`` (whose step
    writes and commits the event row; the live Redis publish follows the commit on a background
    thread).  The result lists, per event, ``time.time()`` just after ``publish_event`` returned,
    i.e. after the commit.  (Non-deterministic values outside steps are fine here: this workflow
    is never replayed past the gate, and the gate step is recorded before anything is timed.)
    """
    await ctx.step.wait_for_event("gate", payload["gate"], timeout=60)
    committed: list[float] = []
    for i in range(int(payload["n"])):
        before = time.time()
        await ctx.step.publish_event(f"tick{i}", ctx.topic, {"i": i, "t": before}, event_type="bench_tick")
        committed.append(time.time())
        await asyncio.sleep(float(payload["gap"]))
    return committed


async def _serve() -> None:
    from polos import Worker

    worker = Worker(workflows=[bench_api_noop, bench_api_events], log_level="WARNING")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    ready = os.environ.get("POLOS_BENCH_READY_FILE")
    if ready:
        Path(ready).touch()
    try:
        await stop.wait()
    finally:
        await worker.shutdown()


def _main(argv: Any = None) -> None:
    asyncio.run(_serve())


if __name__ == "__main__":
    _main()
