"""Workflows per second with 2 worker processes (solo pool each).

Three phases, one after the other, against the same 2 workers:

1. baseline: ``--tasks`` raw Celery no-op tasks (``bench.count``: one Redis ``INCR``), sent with
   ``apply_async`` in a loop; done when the counter reaches the count;
2. ``--one`` 1-step no-op workflows, enqueued with ``client.batch_invoke`` in batches of 100
   (one transaction each, doorbells sent after commit);
3. ``--ten`` 10-step no-op workflows, enqueued the same way.

Each phase is timed from the first enqueue until all are done, polling every 50 ms (the Redis
counter; ``SELECT COUNT(*)`` of completed executions of that phase).  After a short warm-up.

The single client process that enqueues competes with both workers, PostgreSQL and Redis for the
two cores, and one invoke (an INSERT + COMMIT and a Celery publish) costs about as much as running
a 1-step workflow.  So each phase is repeated **pre-enqueued**: everything is enqueued on a queue no
worker consumes, then both workers are told to consume it (Celery remote control ``add_consumer``),
and the rate is the count over the time from the first claim to the last finish (database
timestamps; for raw tasks, the first and last task's own timestamps).  That is the workers'
processing throughput, the figure the targets are about.

Targets (issue, PostgreSQL): >= 250 1-step workflows/s and >= 600 steps/s in 10-step workflows.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from . import common

BATCH = 100
POLL = 0.05


def _args(parser: Any) -> None:
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--tasks", type=int, default=1000, help="raw Celery tasks (default 1000)")
    parser.add_argument("--one", type=int, default=1000, help="1-step workflows (default 1000)")
    parser.add_argument("--ten", type=int, default=300, help="10-step workflows (default 300)")


def main() -> None:
    args = common.parse_args(__doc__, _args)
    with common.bench_env(args.db, "throughput") as env:
        run(env, args)


def pg_sessions() -> int | None:
    """Sessions ever opened on this database (PostgreSQL >= 14 statistics), else ``None``."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else None


def raw_tasks(env: common.BenchEnv, count: int) -> tuple[float, float]:
    from .tasks import COUNTER_KEY
    from .tasks import count as count_task

    r = env.redis()
    r.set(COUNTER_KEY, 0)
    started = time.perf_counter()
    for _ in range(count):
        count_task.apply_async()
    enqueued = time.perf_counter() - started
    common.wait_until(lambda: int(r.get(COUNTER_KEY) or 0) >= count, timeout=300, interval=POLL, message="raw tasks")
    return time.perf_counter() - started, enqueued


def workflows(count: int, steps: int) -> tuple[float, float, int]:
    from polos.types import BatchWorkflowInput
    from polos_django import client
    from polos_django.models import Execution

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    items = [BatchWorkflowInput(id="bench_noop", payload={"steps": steps}) for _ in range(count)]
    started = time.perf_counter()
    for i in range(0, count, BATCH):
        client.batch_invoke(items[i : i + BATCH], session_id=tag)
    enqueued = time.perf_counter() - started
    finished = Execution.objects.filter(session_id=tag, status__in=["completed", "failed", "cancelled"])
    common.wait_until(lambda: finished.count() >= count, timeout=300, interval=POLL, message=f"{count} workflows")
    elapsed = time.perf_counter() - started
    failed = Execution.objects.filter(session_id=tag).exclude(status="completed").count()
    return elapsed, enqueued, failed


def _consume(queue: str) -> None:
    from bench.celery_app import app

    app.control.add_consumer(queue, reply=True, timeout=5)


def raw_tasks_preenqueued(env: common.BenchEnv, count: int) -> float:
    from .tasks import COUNTER_KEY, FIRST_KEY, LAST_KEY
    from .tasks import count as count_task

    r = env.redis()
    r.set(COUNTER_KEY, 0)
    r.delete(FIRST_KEY, LAST_KEY)
    queue = f"bench-held-{uuid.uuid4().hex[:6]}"
    for _ in range(count):
        count_task.apply_async(queue=queue)
    _consume(queue)
    common.wait_until(lambda: int(r.get(COUNTER_KEY) or 0) >= count, timeout=300, interval=0.01, message="raw tasks")
    # From the first task run to the last, like the workflows' first claim to last finish.
    return count / (float(r.get(LAST_KEY)) - float(r.get(FIRST_KEY)))


def workflows_preenqueued(count: int, steps: int) -> float:
    from django.db.models import Max, Min

    from polos.invocation import new_execution
    from polos_django.models import Execution
    from polos_django.store import get_store

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    queue = f"bench-held-{uuid.uuid4().hex[:6]}"
    for i in range(0, count, BATCH):
        requests = [
            new_execution("bench_noop", {"steps": steps}, session_id=tag, queue_name=queue)
            for _ in range(min(BATCH, count - i))
        ]
        get_store().create_executions(requests)  # doorbells go to the held queue on commit
    rows = Execution.objects.filter(session_id=tag)
    _consume(queue)
    finished = rows.filter(status__in=["completed", "failed", "cancelled"])
    common.wait_until(lambda: finished.count() >= count, timeout=300, interval=POLL, message=f"{count} workflows")
    window = rows.aggregate(first=Min("started_at"), last=Max("finished_at"))
    return count / (window["last"] - window["first"]).total_seconds()


def run(env: common.BenchEnv, args: Any) -> None:
    env.start_workers(args.workers)
    # Warm-up: every worker process handles a few of each (connections, imports, code paths).
    raw_tasks(env, 50)
    workflows(40, 2)

    sessions_before = pg_sessions()
    raw_elapsed, raw_enqueue = raw_tasks(env, args.tasks)
    one_elapsed, one_enqueue, one_failed = workflows(args.one, 1)
    ten_elapsed, ten_enqueue, ten_failed = workflows(args.ten, 10)
    raw_held = raw_tasks_preenqueued(env, args.tasks)
    one_held = workflows_preenqueued(args.one, 1)
    ten_held = workflows_preenqueued(args.ten, 10)
    time.sleep(1.1)  # PostgreSQL flushes session statistics about once a second
    sessions_after = pg_sessions()

    raw_rate = args.tasks / raw_elapsed
    one_rate = args.one / one_elapsed
    ten_rate = args.ten / ten_elapsed
    steps_rate = ten_rate * 10
    common.line("workers", f"{args.workers} (solo pool)")
    common.line(
        f"baseline: {args.tasks} raw Celery no-op tasks",
        f"{raw_rate:.0f} tasks/s ({raw_elapsed:.2f} s; enqueue {raw_enqueue:.2f} s)",
    )
    common.line(
        f"polos: {args.one} 1-step workflows",
        f"{one_rate:.0f} workflows/s ({one_elapsed:.2f} s; enqueue {one_enqueue:.2f} s; not completed {one_failed})",
    )
    common.line(
        f"polos: {args.ten} 10-step workflows",
        f"{ten_rate:.0f} workflows/s = {steps_rate:.0f} steps/s ({ten_elapsed:.2f} s; enqueue "
        f"{ten_enqueue:.2f} s; not completed {ten_failed})",
    )
    common.ratio("ratio 1-step workflows/s / raw tasks/s", one_rate, raw_rate)
    common.ratio("ratio steps/s (10-step) / raw tasks/s", steps_rate, raw_rate)
    common.line("pre-enqueued: raw Celery no-op tasks (baseline)", f"{raw_held:.0f} tasks/s")
    common.line("pre-enqueued: polos 1-step workflows", f"{one_held:.0f} workflows/s")
    common.line("pre-enqueued: polos 10-step workflows", f"{ten_held:.0f} workflows/s = {ten_held * 10:.0f} steps/s")
    common.ratio("pre-enqueued ratio 1-step workflows/s / raw tasks/s", one_held, raw_held)
    if sessions_before is not None and sessions_after is not None:
        executions = args.one + args.ten
        opened = sessions_after - sessions_before
        common.line(
            "PostgreSQL sessions opened during the phases",
            f"{opened} for {executions} executions ({opened / executions:.2f} per execution)",
        )
    if args.db == "postgres":
        common.target(">= 250 1-step workflows/s on PostgreSQL (client enqueuing meanwhile)", one_rate >= 250)
        common.target(
            ">= 600 steps/s in 10-step workflows on PostgreSQL (client enqueuing meanwhile)", steps_rate >= 600
        )
        common.target(">= 250 1-step workflows/s on PostgreSQL (pre-enqueued)", one_held >= 250)
        common.target(">= 600 steps/s in 10-step workflows on PostgreSQL (pre-enqueued)", ten_held * 10 >= 600)
    else:
        common.line("target", "(targets are for PostgreSQL; reported for comparison)")


if __name__ == "__main__":
    main()
