"""Fixtures shared by the Django and end-to-end tests: real Celery worker processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from polos_django.testing import WorkerProcess as BaseWorkerProcess

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.browser"]  # shared Playwright fixtures (app_server, browser, page, screenshot)


def _retry_flush_on_deadlock() -> None:
    """Transactional tests end with a flush (TRUNCATE of every table).  The session's shared worker
    may still be running what a test started; on PostgreSQL its transactions and the TRUNCATE can
    deadlock, and PostgreSQL may pick the TRUNCATE as the victim: try it again."""
    from django.core.management.base import CommandError
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self: Any, **options: Any) -> Any:
        for attempt in range(5):
            try:
                return original(self, **options)
            except CommandError as exc:
                if attempt == 4 or "deadlock" not in str(exc.__cause__).lower():
                    raise
                time.sleep(0.2 * (attempt + 1))
        return None

    flush.Command.handle = handle


_retry_flush_on_deadlock()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``once`` do not depend on the database: run them in the SQLite pass only."""
    if os.environ.get("POLOS_TEST_DATABASE") != "postgres":
        return
    skip = pytest.mark.skip(reason="backend-independent (marked once): runs in the SQLite pass")
    for item in items:
        if item.get_closest_marker("once"):
            item.add_marker(skip)


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


class WorkerProcess(BaseWorkerProcess):
    """A real worker process of the test project (``tests.celery_app``)."""

    def __init__(self, name: str, extra_env: dict[str, str] | None = None, queues: str | None = None) -> None:
        super().__init__("tests.celery_app", name, extra_env=extra_env, queues=queues, cwd=ROOT)


def broker_lists(queue: str) -> list[str]:
    """The Redis lists of a Celery queue: kombu keeps one per priority step (see doorbell.message_priority)."""
    from polos_django.doorbell import redis_lists

    return redis_lists(queue)


@pytest.fixture(scope="session")
def _clean_broker(django_db_setup: Any) -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(*broker_lists(settings.CELERY_TASK_DEFAULT_QUEUE))


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
def fake_llm() -> Iterator[Any]:
    """One fake LLM server for the session (tests reset its script; see polos.testing.FakeLLMServer)."""
    from polos.testing import FakeLLMServer

    with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="session")
def _shared_worker(django_db_setup: Any, _clean_broker: None, fake_llm: Any) -> Iterator[WorkerProcess]:
    # The shared worker knows the test agents too, so its LLM clients talk to the session's fake server:
    # whichever worker takes an agent run, it gets the test's scripted replies.
    shared = WorkerProcess("shared", extra_env=fake_llm.env()).start()
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
    from django.db import OperationalError, connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
            except OperationalError:  # no test database was created (no test used it): nothing to end
                pass
