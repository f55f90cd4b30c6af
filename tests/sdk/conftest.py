"""Fixtures of the pure SDK tests: an in-memory runtime, no Django, no database, no broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from polos.runtime import RuntimeSettings
from polos.testing import LocalRuntime
from polos.workflow import get_all_workflows, unregister


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    """Workflows defined inside a test are unregistered after it, so tests can reuse simple ids."""
    before = set(get_all_workflows())
    yield
    for workflow_id in set(get_all_workflows()) - before:
        unregister(workflow_id)


async def _shutdown(runtime: LocalRuntime) -> None:
    tasks = list(runtime._tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def runtime() -> AsyncIterator[LocalRuntime]:
    """A runtime with the default settings (waits up to 5 s run inline)."""
    rt = LocalRuntime()
    yield rt
    await _shutdown(rt)


@pytest.fixture
async def fast_runtime() -> AsyncIterator[LocalRuntime]:
    """A runtime where anything longer than 50 ms becomes a durable timer."""
    rt = LocalRuntime(RuntimeSettings(inline_wait_max_seconds=0.05, heartbeat_seconds=3600))
    yield rt
    await _shutdown(rt)
