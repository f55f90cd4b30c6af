"""Throughput with a concurrency limit of 50 vs. no limit, in the same run.

``--count`` 1-step no-op workflows are pre-enqueued on a queue no worker consumes yet, then both
workers (solo pool) are told to consume it; the rate is the count over the time from the first
claim to the last finish (database timestamps), as in ``bench.throughput``.  Phases alternate
(unlimited, limited, unlimited, limited) and each figure is the better of its two runs, to damp the
noise of a shared machine.  With a limit, every claim goes through the lane's admission and every
finish rings the lane's next execution, handed to the task that freed the slot while that task is
young (``POLOS["LANE_HANDOFF_SECONDS"]``, docs/flow-control.md): this is the price of the limit.
For reference, the limited phase is then run again with hand-offs off (every execution rung through
the broker).

Target (issue): the limit costs <= 20 % of the throughput.
"""

from __future__ import annotations

import uuid
from typing import Any

from . import common

BATCH = 100


def _args(parser: Any) -> None:
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--count", type=int, default=1000, help="workflows per phase (default 1000)")
    parser.add_argument("--limit", type=int, default=50, help="the concurrency limit (default 50)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "concurrency_throughput") as env:
        run(env, args)


def phase(count: int, limit: int | None) -> float:
    from django.db.models import Max, Min

    from bench.celery_app import app
    from polos.invocation import new_execution
    from polos_django.models import Execution
    from polos_django.store import get_store

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    queue = f"bench-held-{uuid.uuid4().hex[:6]}"
    for i in range(0, count, BATCH):
        requests = [
            new_execution("bench_noop", {"steps": 1}, session_id=tag, queue_name=queue, queue_concurrency_limit=limit)
            for _ in range(min(BATCH, count - i))
        ]
        get_store().create_executions(requests)
    rows = Execution.objects.filter(session_id=tag)
    app.control.add_consumer(queue, reply=True, timeout=5)
    finished = rows.filter(status__in=["completed", "failed", "cancelled"])
    common.wait_until(lambda: finished.count() >= count, timeout=600, interval=0.05, message=f"{count} workflows")
    window = rows.aggregate(first=Min("started_at"), last=Max("finished_at"))
    return count / (window["last"] - window["first"]).total_seconds()


def run(env: common.BenchEnv, args: Any) -> None:
    env.start_workers(args.workers)
    phase(100, None)  # warm-up
    phase(100, args.limit)
    unlimited, limited = [], []
    for _ in range(2):
        unlimited.append(phase(args.count, None))
        limited.append(phase(args.count, args.limit))
    best_unlimited, best_limited = max(unlimited), max(limited)
    env.stop_workers()
    env.start_workers(args.workers, extra_env={"POLOS_LANE_HANDOFF_SECONDS": "0"})
    phase(100, args.limit)  # warm-up
    without_handoff = [phase(args.count, args.limit) for _ in range(2)]
    common.line("workers", f"{args.workers} (solo pool); machine shared with other busy agents")
    common.line(
        f"baseline: {args.count} 1-step workflows, no limit",
        f"{best_unlimited:.0f} workflows/s (runs: {', '.join(f'{r:.0f}' for r in unlimited)})",
    )
    common.line(
        f"limit {args.limit} (one lane)",
        f"{best_limited:.0f} workflows/s (runs: {', '.join(f'{r:.0f}' for r in limited)})",
    )
    common.line(
        f"limit {args.limit}, hand-offs off (reference)",
        f"{max(without_handoff):.0f} workflows/s (runs: {', '.join(f'{r:.0f}' for r in without_handoff)}; "
        f"cost {(1 - max(without_handoff) / best_unlimited) * 100:.0f} %)",
    )
    cost = 1 - best_limited / best_unlimited
    common.ratio("ratio limited / unlimited", best_limited, best_unlimited)
    common.target(f"the limit costs <= 20 % (cost {cost * 100:.0f} %)", cost <= 0.20)


if __name__ == "__main__":
    main()
