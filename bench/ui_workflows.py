"""The workflow of ``bench.ui_live`` and its worker (``python -m bench.ui_workflows``).

Like ``bench.api_workflows``: a ``polos.Worker`` (solo pool) configured from the environment
(``POLOS_HOME``, ``POLOS_DATABASE_URL``, ``POLOS_BROKER_URL``), touching ``$POLOS_BENCH_READY_FILE``
once it consumes its queue and stopping on SIGTERM / SIGINT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from polos import WorkflowContext, workflow

QUEUE = "bench_ui"


@workflow(id="bench_ui_ticks", queue=QUEUE)
async def bench_ui_ticks(ctx: WorkflowContext, payload: dict[str, Any]) -> list[float]:
    """``payload["ticks"]`` rounds of: wait for ``go-{i}`` on ``payload["gate"]``, then step ``tick-{i}``.

    Each tick step returns ``time.time()`` as its function finishes (the step is then recorded and
    its ``step_finish`` event committed and published); the result lists those times.
    """
    finished = []
    for i in range(int(payload["ticks"])):
        await ctx.step.wait_for_event(f"go-{i}", payload["gate"], timeout=120)
        finished.append(await ctx.step.run(f"tick-{i}", time.time))
    return finished


async def _serve() -> None:
    from polos import Worker

    worker = Worker(workflows=[bench_ui_ticks], log_level="WARNING")
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


if __name__ == "__main__":
    asyncio.run(_serve())
