"""Time per no-op ``ctx.step.run`` inside a running execution, in-process (no Celery).

An execution is created with ``store.create_executions`` and claimed with ``store.claim``; an
``ExecutionRun`` is built on it and ``ctx.step.run(f"k{i}", fn)`` is awaited N times on an event
loop, with ``fn`` an async no-op and, separately, a sync no-op (which runs in a thread).

Baseline, same run, same database: ``Event.objects.create()`` of a small row in autocommit (one
INSERT + COMMIT through the Django ORM), N times.  Each of the three is measured ``--rounds`` times
(interleaved); the median round is reported.  Queries per step are counted separately (counting
wraps the cursor and would distort the timing).

Target (issue): a no-op step costs at most 1.5x the baseline insert, with one write per step.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
from typing import Any

from . import common


def _args(parser: Any) -> None:
    parser.add_argument("-n", type=int, default=2000, help="steps / inserts per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement (default 3)")
    parser.add_argument("--no-diagnose", action="store_true", help="skip the live-publish diagnostic")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra round of async steps")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "step_overhead"):
        run(args)


def run(args: Any) -> None:
    from polos.invocation import new_execution
    from polos.runtime import ExecutionRun, worker_identity
    from polos.workflow import get_workflow
    from polos_django.conf import runtime_settings
    from polos_django.models import Event
    from polos_django.store import get_store

    from .workflows import async_noop, sync_noop

    store = get_store()
    settings = runtime_settings()
    workflow = get_workflow("bench_noop")
    assert workflow is not None
    owner = worker_identity()
    loop = asyncio.new_event_loop()
    n = args.n

    def new_run() -> ExecutionRun:
        [record] = store.create_executions([new_execution("bench_noop", {"steps": 0})])
        claim = store.claim(record.id, owner, 3600.0)
        assert claim is not None
        return ExecutionRun(store, claim, {}, workflow, settings)

    def steps(fn: Any, count: int, execution: ExecutionRun | None = None, marks: list | None = None) -> float:
        """Await ``count`` no-op steps in one task; with ``marks``, also record the statements."""
        execution = execution or new_run()
        step = execution.context.step

        async def body() -> float:
            started = time.perf_counter()
            for i in range(count):
                await step.run(f"k{i}", fn)
            return time.perf_counter() - started

        async def counted_body() -> float:
            # Inside the task: under a running loop each task has its own Django connection.
            assert marks is not None
            with common.capture_statements() as statements:
                for i in range(count):
                    before = len(statements)
                    await step.run(f"k{i}", fn)
                    marks.append(statements[before:])
            return 0.0

        return loop.run_until_complete(counted_body() if marks is not None else body())

    def inserts(count: int) -> float:
        create = Event.objects.create
        started = time.perf_counter()
        for _ in range(count):
            create(project_id="bench", topic="bench/t", event_type="x", data="{}")
        return time.perf_counter() - started

    # Warm-up: connections, prepared paths, the live publisher thread, the thread pool.
    inserts(200)
    steps(async_noop, 200)
    steps(sync_noop, 100)

    results: dict[str, list[float]] = {"insert": [], "async": [], "sync": []}
    for _ in range(args.rounds):
        results["insert"].append(inserts(n) / n)
        results["async"].append(steps(async_noop, n) / n)
        results["sync"].append(steps(sync_noop, n) / n)
    base = common.median(results["insert"])
    step_async = common.median(results["async"])
    step_sync = common.median(results["sync"])

    # Statements per step / per insert (separately: counting costs time).
    counted = 100
    execution = new_run()  # created outside the counted task
    marks: list[list[str]] = []
    steps(async_noop, counted, execution, marks)
    per_insert = common.count_statements(lambda: inserts(counted))
    steady = marks[1:]  # the first step of a task may open that task's connection
    per_step = [sql for m in steady for sql in m]
    kinds_step = {k: v / len(steady) for k, v in common.classify(per_step).items()}
    kinds_insert = {k: v / counted for k, v in common.classify(per_insert).items()}

    # Diagnostic: Django connections opened by 10 successive runs in one persistent context, the way
    # the worker's Engine.run runs executions (a fresh context per run would open one each).
    from django.db.backends.signals import connection_created

    opened: list[Any] = []

    def on_created(**kwargs: Any) -> None:
        opened.append(kwargs.get("connection"))

    connection_created.connect(on_created)
    probe = new_run()
    import contextvars

    persistent = contextvars.copy_context()
    for i in range(10):
        loop.run_until_complete(loop.create_task(probe.context.step.run(f"probe{i}", async_noop), context=persistent))
    connection_created.disconnect(on_created)

    common.line("N per round / rounds", f"{n} / {args.rounds} (median round reported)")
    common.line("no-op step, async fn", f"{common.us(step_async)} per step")
    common.line("no-op step, sync fn (runs in a thread)", f"{common.us(step_sync)} per step")
    common.line("baseline: ORM Event.objects.create()", f"{common.us(base)} per insert")
    r_async = common.ratio("ratio async step / baseline insert", step_async, base)
    r_sync = common.ratio("ratio sync step / baseline insert", step_sync, base)
    common.line(
        "statements per step (async, steady state)",
        f"{len(per_step) / len(steady):g} (writes {kinds_step['write']:g}, reads {kinds_step['read']:g}, "
        f"begin/commit {kinds_step['transaction']:g})",
    )
    common.line(
        "statements per baseline insert",
        f"{len(per_insert) / counted:g} (writes {kinds_insert['write']:g}, reads {kinds_insert['read']:g}, "
        f"begin/commit {kinds_insert['transaction']:g})",
    )
    for sql in marks[counted // 2]:
        sql = " ".join(sql.split())
        common.line("  one step's statement", sql if len(sql) < 120 else sql[:117] + "...")
    if len(marks[0]) > len(marks[counted // 2]):
        common.line("  extra statements of a task's first step", f"{len(marks[0]) - len(marks[counted // 2])}")
    common.line("DB connections opened by 10 runs (engine's context)", f"{len(opened)}")
    if not args.no_diagnose:
        # Diagnostic: the same steps with live publishing (polos_django.live: a Redis PUBLISH of
        # every step_finish event from a background thread) stubbed out, to show its share.
        from polos_django import live

        real_submit = live._publisher.submit
        live._publisher.submit = lambda *args: None  # type: ignore[method-assign]
        try:
            steps(async_noop, 200)
            quiet = common.median([steps(async_noop, n) / n for _ in range(args.rounds)])
        finally:
            live._publisher.submit = real_submit  # type: ignore[method-assign]
        common.line(
            "diagnostic: async step, live publish stubbed",
            f"{common.us(quiet)} per step ({common.us(step_async - quiet)} of each step is live publishing)",
        )
    common.target("async no-op step <= 1.5x baseline insert", r_async <= 1.5)
    common.target("sync no-op step <= 1.5x baseline insert", r_sync <= 1.5)
    common.target("1 write statement per no-op step", kinds_step["write"] == 1 and kinds_step["transaction"] == 0)

    if args.profile:
        profiler = cProfile.Profile()
        execution = new_run()
        profiler.enable()
        steps(async_noop, n, execution)
        profiler.disable()
        print(f"  --- cProfile of {n} async no-op steps (top 25 by internal time) ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    loop.close()


if __name__ == "__main__":
    main()
