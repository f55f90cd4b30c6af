"""Queue fairness: a small tenant's wait while another tenant floods the same queue.

Two tenants share the queue ``bench-fair``.  Tenant A enqueues ``--flood`` 1-step no-op workflows
(batches of 100), then tenant B enqueues ``--small`` of them.  B's wait is each execution's
``started_at - created_at``.  Two phases in the same run, on the same 2 workers (solo pool):

1. baseline: no concurrency key, no limit — B's executions queue behind A's whole flood (FIFO);
2. each tenant has its own concurrency key with a limit of ``--limit`` per lane — only as many
   doorbells as a lane has free slots are in the Celery queue, so B's go through at once.

Target (issue): B's p50 wait stays under 1 s with per-tenant concurrency keys.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from . import common

QUEUE = "bench-fair"
BATCH = 100


def _args(parser: Any) -> None:
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--flood", type=int, default=1000, help="executions of the flooding tenant (default 1000)")
    parser.add_argument("--small", type=int, default=10, help="executions of the small tenant (default 10)")
    parser.add_argument("--limit", type=int, default=2, help="concurrency limit per tenant lane (default 2)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "queue_fairness") as env:
        run(env, args)


def _enqueue(count: int, tag: str, key: str | None, limit: int | None) -> None:
    from polos.invocation import new_execution
    from polos_django.store import get_store

    for i in range(0, count, BATCH):
        requests = [
            new_execution(
                "bench_noop",
                {"steps": 1},
                session_id=tag,
                queue_name=QUEUE,
                queue_concurrency_limit=limit,
                concurrency_key=key,
            )
            for _ in range(min(BATCH, count - i))
        ]
        get_store().create_executions(requests)


def phase(args: Any, keyed: bool) -> tuple[list[float], float]:
    """Run one phase; returns the small tenant's waits (s) and the phase's duration."""
    from polos_django.models import Execution

    tag = uuid.uuid4().hex[:8]
    limit = args.limit if keyed else None
    started = time.perf_counter()
    _enqueue(args.flood, f"flood-{tag}", "tenant-a" if keyed else None, limit)
    _enqueue(args.small, f"small-{tag}", "tenant-b" if keyed else None, limit)
    rows = Execution.objects.filter(session_id__in=[f"flood-{tag}", f"small-{tag}"])
    total = args.flood + args.small
    common.wait_until(
        lambda: rows.filter(status="completed").count() >= total, timeout=600, interval=0.1, message="phase"
    )
    elapsed = time.perf_counter() - started
    small = Execution.objects.filter(session_id=f"small-{tag}").values_list("created_at", "started_at")
    return [(s - c).total_seconds() for c, s in small], elapsed


def run(env: common.BenchEnv, args: Any) -> None:
    from bench.celery_app import app

    env.start_workers(args.workers)
    app.control.add_consumer(QUEUE, reply=True, timeout=5)
    phase(type(args)(flood=40, small=4, limit=args.limit), keyed=True)  # warm-up

    base_waits, base_elapsed = phase(args, keyed=False)
    keyed_waits, keyed_elapsed = phase(args, keyed=True)
    base_p50, keyed_p50 = common.median(base_waits), common.median(keyed_waits)
    common.line("workers", f"{args.workers} (solo pool); machine shared with other busy agents")
    common.line(
        f"baseline: one lane, no limit ({args.flood} + {args.small})",
        f"small tenant wait p50 {common.ms(base_p50)}, max {common.ms(max(base_waits))} (phase {base_elapsed:.2f} s)",
    )
    common.line(
        f"per-tenant keys, limit {args.limit} per lane",
        f"small tenant wait p50 {common.ms(keyed_p50)}, max {common.ms(max(keyed_waits))} "
        f"(phase {keyed_elapsed:.2f} s)",
    )
    common.ratio("ratio phase duration keyed / baseline", keyed_elapsed, base_elapsed)
    common.target("small tenant p50 wait < 1 s with per-tenant concurrency keys", keyed_p50 < 1.0)


if __name__ == "__main__":
    main()
