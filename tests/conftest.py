"""Fixtures shared by the Django and end-to-end tests: real Celery worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02, message: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message or predicate}")
        time.sleep(interval)


class WorkerProcess:
    """One real ``celery worker`` process (solo pool) running the test project."""

    def __init__(self, name: str, extra_env: dict[str, str] | None = None, queues: str | None = None) -> None:
        self.name = name
        self.extra_env = extra_env or {}
        self.queues = queues
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"polos-worker-{name}-{uuid.uuid4().hex[:6]}.log"
        self.kills = 0

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        ready = Path(tempfile.gettempdir()) / f"polos-ready-{uuid.uuid4().hex}"
        env = {**os.environ, **self.extra_env, "POLOS_TEST_READY_FILE": str(ready), "PYTHONPATH": str(ROOT)}
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celery_app",
            "worker",
            "--pool=solo",
            "-n",
            f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ]
        if self.queues:
            cmd += ["-Q", self.queues]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited at start-up:\n{self.log_path.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"worker {self.name} not ready after {timeout} s:\n{self.log_path.read_text()[-4000:]}"
                )
            time.sleep(0.02)
        ready.unlink(missing_ok=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the worker (no clean-up of any kind) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.start()

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


@pytest.fixture(scope="session")
def _clean_broker(django_db_setup: Any) -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture
def start_workers(transactional_db: Any, _clean_broker: None) -> Iterator[Callable[..., list[WorkerProcess]]]:
    """Start N real worker processes against the test database; stopped after the test."""
    started: list[WorkerProcess] = []

    def start(count: int = 1, **kwargs: Any) -> list[WorkerProcess]:
        workers = [WorkerProcess(f"w{len(started) + i}", **kwargs) for i in range(count)]
        for worker in workers:
            worker.start()
            started.append(worker)
        return workers

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def _shared_worker(django_db_setup: Any, _clean_broker: None) -> Iterator[WorkerProcess]:
    shared = WorkerProcess("shared").start()
    yield shared
    shared.stop()


@pytest.fixture
def worker(transactional_db: Any, _shared_worker: WorkerProcess) -> WorkerProcess:
    """A worker process shared by the tests that do not kill it (restarted if a test did)."""
    if _shared_worker.proc is None or _shared_worker.proc.poll() is not None:
        _shared_worker.start()
    return _shared_worker


@pytest.fixture
def own_worker(start_workers: Callable[..., list[WorkerProcess]]) -> WorkerProcess:
    """A worker process of this test alone (for tests that kill or restart it)."""
    return start_workers(1)[0]


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_connections(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, end connections other threads left open (PostgreSQL)."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
