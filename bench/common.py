"""Shared helpers of the benchmarks: a fresh database, real worker processes, statistics, output.

Every benchmark module does::

    args = common.parse_args(__doc__)
    with common.bench_env(args.db, "name") as env:
        ...                       # Django is set up, migrated; Redis db flushed
        env.start_workers(1)      # real `celery worker --pool=solo` processes
        common.report(...)

The database (a SQLite file in a temporary directory, or a PostgreSQL database
``polos_bench_<random>``) is created before Django starts and dropped at the end, also on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polos_django.testing import WorkerProcess as BaseWorkerProcess

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("POLOS_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


# --- arguments and output ----------------------------------------------------------------------


def parse_args(description: str | None, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=(description or "").strip().splitlines()[0] if description else None)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="database backend")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def header(name: str, db: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"== {name} ({db}) ==  [{os.cpu_count()} CPUs, load average {load}]", flush=True)


def line(label: str, value: str) -> None:
    print(f"  {label:<46} {value}", flush=True)


def ratio(label: str, value: float, baseline: float) -> float:
    r = value / baseline if baseline else float("inf")
    line(label, f"{r:.2f}x")
    return r


def target(description: str, met: bool) -> bool:
    print(f"  target: {description} -> {'MET' if met else 'MISSED'}", flush=True)
    return met


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100.0 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {message or predicate}")
        time.sleep(interval)


# --- worker processes ----------------------------------------------------------------------------


class WorkerProcess(BaseWorkerProcess):
    """One real ``celery -A bench.celery_app worker --pool=solo`` process on the benchmark database."""

    def __init__(self, name: str, extra_env: dict[str, str] | None = None, queues: str | None = None) -> None:
        env = {"DJANGO_SETTINGS_MODULE": "bench.settings", **(extra_env or {})}
        super().__init__("bench.celery_app", name, extra_env=env, queues=queues, cwd=ROOT)

    def stop(self, timeout: float = 15.0) -> None:
        super().stop(timeout)
        self.remove_log()


# --- the environment -----------------------------------------------------------------------------


@dataclass
class BenchEnv:
    db: str
    workers: list[WorkerProcess] = field(default_factory=list)

    def start_workers(self, count: int, extra_env: dict[str, str] | None = None) -> list[WorkerProcess]:
        """Start ``count`` workers (one after the other: two cores, keep start-up contention low)."""
        started = []
        for _ in range(count):
            worker = WorkerProcess(f"w{len(self.workers)}", extra_env=extra_env)
            self.workers.append(worker)
            worker.start()
            started.append(worker)
        return started

    def stop_workers(self, workers: Sequence[WorkerProcess] | None = None) -> None:
        for worker in list(workers if workers is not None else self.workers):
            worker.stop()
            if worker in self.workers:
                self.workers.remove(worker)

    def redis(self) -> Any:
        import redis
        from django.conf import settings

        return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_URL, autocommit=True)


@contextlib.contextmanager
def bench_env(db: str, name: str) -> Iterator[BenchEnv]:
    """A fresh database and broker db, Django set up and migrated; everything removed at the end."""
    os.environ["POLOS_BENCH_DB"] = db
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # Workflow code runs on an event loop and the store's database calls are synchronous, as in the
    # worker's engine (polos_django/engine.py).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    tmpdir: str | None = None
    pg_name: str | None = None
    if db == "postgres":
        pg_name = f"polos_bench_{uuid.uuid4().hex[:8]}"
        os.environ["POLOS_BENCH_PG_NAME"] = pg_name
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}"')
    else:
        tmpdir = tempfile.mkdtemp(prefix="polos-bench-")
        os.environ["POLOS_BENCH_SQLITE_PATH"] = os.path.join(tmpdir, "db.sqlite3")
    env = BenchEnv(db)
    header(name, db)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        import bench.celery_app  # noqa: F401  (the sending side uses the same Celery app and broker)

        call_command("migrate", verbosity=0, interactive=False)
        env.redis().flushdb()
        yield env
    finally:
        env.stop_workers()
        with contextlib.suppress(Exception):
            from polos_django import live

            live.flush(1.0)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if pg_name is not None:
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


@contextlib.contextmanager
def capture_statements() -> Iterator[list[str]]:
    """Collect the SQL statements sent through Django's current connection, plus one ``COMMIT``
    per commit Django makes (``transaction.atomic`` exit; autocommitted statements commit implicitly
    and are not listed twice).

    Under a running event loop Django's connection is per asyncio task (asgiref ``Local`` is a
    contextvar there), so enter this inside the task whose statements you want.
    """
    from django.db import connection

    statements: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    wrapped = connections_default()
    real_commit = wrapped._commit

    def counting_commit() -> Any:
        statements.append("COMMIT")
        return real_commit()

    wrapped._commit = counting_commit
    # The SQLite step hot path talks to the driver connection directly; its trace callback sees
    # those statements (Django's own statements are then seen there, not by the wrapper).
    driver = None
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        driver = connection.connection
        driver.set_trace_callback(lambda sql: statements.append(sql))
    try:
        if driver is not None:
            yield statements
        else:
            with connection.execute_wrapper(wrapper):
                yield statements
    finally:
        del wrapped._commit
        if driver is not None:
            driver.set_trace_callback(None)


def connections_default() -> Any:
    from django.db import connections

    return connections["default"]


def count_statements(fn: Callable[[], Any]) -> list[str]:
    with capture_statements() as statements:
        fn()
    return statements


def classify(statements: Sequence[str]) -> dict[str, int]:
    kinds = {"read": 0, "write": 0, "transaction": 0}
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            kinds["transaction"] += 1
        elif head in ("INSERT", "UPDATE", "DELETE", "REPLACE") or (head == "WITH" and "INSERT" in sql.upper()):
            kinds["write"] += 1
        else:
            kinds["read"] += 1
    return kinds
