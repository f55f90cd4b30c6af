"""Replay of an execution with 1,000 recorded steps.

An execution of ``bench_noop`` with ``{"steps": N}`` is created, claimed, and its N steps are
recorded (run once, without finishing).  Then, in-process (no Celery), on one event-loop task so
one warm database connection serves everything:

- load: ``store.load_steps(execution_id)`` (asserted to be exactly one query), median of repeats;
- replay: the workflow function run from the top on an ``ExecutionRun`` built with the loaded
  steps; every ``ctx.step.run`` finds its key recorded, so nothing executes (asserted: no SQL);
  median of repeats, and per step;
- to the end: one ``ExecutionRun.execute()`` (replay + the ``finish`` write), once.

Baseline, same run: one ``SELECT`` of the execution row (``store.get_execution``), median.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import common


def _args(parser: Any) -> None:
    parser.add_argument("-n", type=int, default=1000, help="recorded steps (default 1000)")
    parser.add_argument("--repeats", type=int, default=20, help="repeats of load and replay (default 20)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "replay"):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(run(args))
        loop.close()


async def run(args: Any) -> None:
    from polos import serialization
    from polos.invocation import new_execution
    from polos.runtime import ExecutionRun, worker_identity
    from polos.workflow import get_workflow
    from polos_django.conf import runtime_settings
    from polos_django.store import get_store

    from .workflows import async_noop

    store = get_store()
    settings = runtime_settings()
    workflow = get_workflow("bench_noop")
    assert workflow is not None
    n = args.n

    [record] = store.create_executions([new_execution("bench_noop", {"steps": n})])
    claim = store.claim(record.id, worker_identity(), 3600.0)
    assert claim is not None
    first = ExecutionRun(store, claim, {}, workflow, settings)
    for i in range(n):  # the workflow's own step keys, recorded once
        await first.context.step.run(f"n{i}", async_noop)

    # Load: exactly one query.
    with common.capture_statements() as statements:
        steps = store.load_steps(record.id)
    assert len(steps) == n, len(steps)
    assert len(statements) == 1, statements
    load_times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        store.load_steps(record.id)
        load_times.append(time.perf_counter() - started)

    # Replay of the workflow function: nothing executes, no SQL.
    payload = serialization.loads(claim.execution.payload)
    replay_times = []
    for r in range(args.repeats + 1):
        run_ = ExecutionRun(store, claim, dict(steps), workflow, settings)
        with common.capture_statements() as statements:
            started = time.perf_counter()
            result = await workflow.call(run_.context, payload)
            elapsed = time.perf_counter() - started
        assert result == n, result
        assert not statements, statements[:3]
        if r:  # the first one is a warm-up
            replay_times.append(elapsed)

    # To the end: replay + finish (one write), once.
    final = ExecutionRun(store, claim, store.load_steps(record.id), workflow, settings)
    started = time.perf_counter()
    outcome = await final.execute()
    to_end = time.perf_counter() - started
    assert outcome == "completed", outcome

    # Baseline: one SELECT of the execution row.
    for _ in range(50):
        store.get_execution(record.id)
    select_times = []
    for _ in range(200):
        started = time.perf_counter()
        store.get_execution(record.id)
        select_times.append(time.perf_counter() - started)

    load = common.median(load_times)
    replay = common.median(replay_times)
    select = common.median(select_times)
    common.line("recorded steps", f"{n}")
    common.line("load_steps (1 query, asserted)", f"{common.ms(load)} median of {args.repeats}")
    common.line(
        "replay of the workflow function (no SQL)",
        f"{common.ms(replay)} median of {args.repeats} = {common.us(replay / n)} per step",
    )
    common.line("execute() to the end: replay + finish write", f"{common.ms(to_end)} (once)")
    common.line("load + replay", f"{common.ms(load + replay)} = {common.us((load + replay) / n)} per step")
    common.line("baseline: one SELECT of the execution row", f"{common.us(select)} median of 200")
    common.ratio("ratio load_steps / baseline SELECT", load, select)
    common.ratio("ratio replay / baseline SELECT", replay, select)
    common.ratio("ratio per-step replay / baseline SELECT", replay / n, select)


if __name__ == "__main__":
    main()
