"""Invoke-to-result latency of a 10-step no-op workflow through one real worker process.

One ``celery worker --pool=solo`` process runs both the Polos task and the baseline tasks.  The
client (this process) measures ``polos_django.client.invoke()`` + ``client.wait_for_result()``
(push-based: the client subscribes to the execution's Redis "done" channel) until the result is
back, ``--runs`` times after a warm-up; median and p90.

Baseline, same run, same worker: a raw Celery ``chain`` of 10 no-op tasks (``bench.noop``, result
stored in the Redis result backend), ``chain(...).apply_async()`` and then waiting for the last
task's result.  Two waits are measured: ``AsyncResult.get(interval=0.0005)`` and the default
``get()``.  With the Redis result backend both are push-based (Celery subscribes to the result's
pub/sub channel; ``interval`` is only the blocking-read timeout, not a polling period), so they
should agree; the faster one is the baseline.  Polos runs and chain runs are interleaved.

Targets (issue): faster than the raw chain; median <= 12 ms on SQLite, <= 20 ms on PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

from . import common


def _args(parser: Any) -> None:
    parser.add_argument("--runs", type=int, default=100, help="measured runs of each (default 100)")
    parser.add_argument("--warmup", type=int, default=15, help="warm-up runs of each (default 15)")
    parser.add_argument("--steps", type=int, default=10, help="steps per workflow / tasks per chain (default 10)")
    parser.add_argument(
        "--db-reuse-max",
        type=int,
        default=0,
        help="also measure with CELERY_DB_REUSE_MAX=N in a second worker (0: off)",
    )


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "workflow_latency") as env:
        run(env, args)


def measure(args: Any) -> dict[str, list[float]]:
    from celery import chain

    from polos_django import client

    from .tasks import noop

    steps = args.steps

    done_at: dict[str, float] = {}

    def polos_once() -> float:
        started = time.perf_counter()
        handle = client.invoke("bench_noop", {"steps": steps})
        result = client.wait_for_result(handle.id, timeout=60)
        elapsed = time.perf_counter() - started
        done_at[handle.id] = time.time()
        assert result == steps, result
        return elapsed

    def chain_once(interval: float | None) -> float:
        started = time.perf_counter()
        res = chain(*[noop.si() for _ in range(steps)]).apply_async()
        if interval is None:
            res.get(timeout=60)
        else:
            res.get(timeout=60, interval=interval)
        elapsed = time.perf_counter() - started
        res.forget()
        return elapsed

    for _ in range(args.warmup):
        polos_once()
        chain_once(0.0005)
        chain_once(None)
    done_at.clear()
    out: dict[str, list[float]] = {"polos": [], "chain_fast": [], "chain_default": []}
    for _ in range(args.runs):
        out["polos"].append(polos_once())
        out["chain_fast"].append(chain_once(0.0005))
        out["chain_default"].append(chain_once(None))
    out.update(breakdown(done_at))
    return out


def breakdown(done_at: dict[str, float]) -> dict[str, list[float]]:
    """Phases of each Polos run from the execution row's timestamps (same host clock)."""
    from polos_django.models import Execution

    phases: dict[str, list[float]] = {"to_claim": [], "run": [], "notify": []}
    rows = Execution.objects.filter(id__in=list(done_at)).values_list("id", "created_at", "started_at", "finished_at")
    for execution_id, created, started, finished in rows:
        phases["to_claim"].append((started - created).total_seconds())
        phases["run"].append((finished - started).total_seconds())
        phases["notify"].append(done_at[execution_id] - finished.timestamp())
    return phases


def statements_per_execution(steps: int) -> tuple[list[str], int]:
    """Run one execution in-process (before any worker starts) and list its SQL statements, plus
    the number of Django connections the run opened."""
    import asyncio

    from django.db.backends.signals import connection_created

    from polos.runtime import run_execution
    from polos_django import client
    from polos_django.conf import runtime_settings
    from polos_django.store import get_store

    handle = client.invoke("bench_noop", {"steps": steps})
    opened: list[Any] = []

    def on_created(**kwargs: Any) -> None:
        opened.append(kwargs.get("connection"))

    async def body() -> list[str]:
        with common.capture_statements() as statements:
            outcome = await run_execution(get_store(), handle.id, settings=runtime_settings())
        assert outcome == "completed", outcome
        return statements

    connection_created.connect(on_created)
    loop = asyncio.new_event_loop()
    try:
        statements = loop.run_until_complete(body())
    finally:
        loop.close()
        connection_created.disconnect(on_created)
    return statements, len(opened)


def run(env: common.BenchEnv, args: Any) -> None:
    statements, opened = statements_per_execution(args.steps)
    env.start_workers(1)
    res = measure(args)
    polos_med, polos_p90 = common.median(res["polos"]), common.percentile(res["polos"], 90)
    fast_med, fast_p90 = common.median(res["chain_fast"]), common.percentile(res["chain_fast"], 90)
    dflt_med, dflt_p90 = common.median(res["chain_default"]), common.percentile(res["chain_default"], 90)
    base_med = min(fast_med, dflt_med)
    n = args.steps
    common.line("runs (after warm-up) / steps", f"{args.runs} (after {args.warmup}) / {n}")
    common.line(f"polos {n}-step no-op workflow", f"median {common.ms(polos_med)}, p90 {common.ms(polos_p90)}")
    common.line(
        f"baseline: chain of {n} no-op tasks, get(interval=0.0005)",
        f"median {common.ms(fast_med)}, p90 {common.ms(fast_p90)}",
    )
    common.line(
        f"baseline: chain of {n} no-op tasks, get() default",
        f"median {common.ms(dflt_med)}, p90 {common.ms(dflt_p90)}",
    )
    common.line(
        "  polos phases (medians): invoke->claim",
        f"{common.ms(common.median(res['to_claim']))} (insert+commit, doorbell, Celery delivery, task start)",
    )
    common.line(
        "  claim->finished (in the worker)",
        f"{common.ms(common.median(res['run']))} (claim, load steps, {n} steps, finish)",
    )
    common.line(
        "  finished->client has the result",
        f"{common.ms(common.median(res['notify']))} (commit, Redis push, client re-reads the row)",
    )
    kinds = common.classify(statements)
    common.line(
        f"  SQL of one {n}-step execution (worker side)",
        f"{len(statements)} statements: {kinds['write']} writes, {kinds['read']} reads, "
        f"{kinds['transaction']} begin/commit; {opened} new DB connection(s)",
    )
    r = common.ratio("ratio polos / raw chain (median, faster wait)", polos_med, base_med)
    common.line("polos per step (median / steps)", common.ms(polos_med / n))
    if args.db_reuse_max:
        env.stop_workers()
        env.start_workers(1, extra_env={"POLOS_BENCH_DB_REUSE_MAX": str(args.db_reuse_max)})
        res2 = measure(args)
        common.line(
            f"with CELERY_DB_REUSE_MAX={args.db_reuse_max}: polos",
            f"median {common.ms(common.median(res2['polos']))}, p90 {common.ms(common.percentile(res2['polos'], 90))}",
        )
        common.line(
            f"with CELERY_DB_REUSE_MAX={args.db_reuse_max}: chain",
            f"median {common.ms(common.median(res2['chain_fast']))}",
        )
    common.target("faster than the raw Celery chain (median)", r < 1.0)
    limit = 0.012 if args.db == "sqlite" else 0.020
    common.target(f"median <= {limit * 1000:.0f} ms on {args.db}", polos_med <= limit)


if __name__ == "__main__":
    main()
