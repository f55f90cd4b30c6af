"""Fixtures of the agent tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from polos.runtime import RuntimeSettings
from polos.testing import FakeLLMServer, LocalRuntime
from polos.workflow import get_all_workflows, unregister
from tests.conftest import WorkerProcess


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    """Agents and tools defined inside a test are unregistered after it."""
    before = set(get_all_workflows())
    yield
    for workflow_id in set(get_all_workflows()) - before:
        unregister(workflow_id)


@pytest.fixture
async def runtime() -> AsyncIterator[LocalRuntime]:
    rt = LocalRuntime(RuntimeSettings(heartbeat_seconds=3600, inline_wait_max_seconds=0.5))
    yield rt
    tasks = list(rt._tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def llm(fake_llm: FakeLLMServer) -> FakeLLMServer:
    """The fake LLM server with an empty script and no recorded requests."""
    return fake_llm.reset([])


@pytest.fixture(scope="module")
def _agent_worker(django_db_setup: Any, _clean_broker: None, fake_llm: FakeLLMServer) -> Iterator[WorkerProcess]:
    # Module-scoped: a worker left running would also take other modules' executions, and its LLM
    # clients talk to this fake server, not theirs.
    worker = WorkerProcess("agents", extra_env=fake_llm.env()).start()
    yield worker
    worker.stop()


@pytest.fixture
def agent_worker(transactional_db: Any, _agent_worker: WorkerProcess) -> WorkerProcess:
    """A worker process whose anthropic/openai clients talk to the fake LLM server."""
    if _agent_worker.proc is None or _agent_worker.proc.poll() is not None:
        _agent_worker.start()
    return _agent_worker
