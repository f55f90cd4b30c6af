"""Helpers for the sandbox tests: engine detection, running tools in a LocalRuntime with answers."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from polos.sandbox.environments.local import bubblewrap_available
from polos.store import FINISHED_STATUSES
from polos.testing import LocalRuntime

TEST_IMAGE = os.environ.get("POLOS_TEST_DOCKER_IMAGE", "polos-sandbox-test:1")


def docker_ready() -> str | None:
    """Why the docker tests cannot run, or ``None`` when an engine and the test image are there."""
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed"
    try:
        client = docker.from_env(timeout=5)
        client.ping()
        client.images.get(TEST_IMAGE)
    except Exception as exc:
        return f"no Docker engine with the test image {TEST_IMAGE} ({type(exc).__name__}); scripts/setup.d/docker.sh"
    return None


_docker_reason = docker_ready()
needs_docker = pytest.mark.skipif(_docker_reason is not None, reason=_docker_reason or "")
needs_bwrap = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap (bwrap) is not usable here")

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


class ToolRun:
    """The outcome of :func:`run_tool`: the result and every suspend that was answered."""

    def __init__(self, result: Any, status: str, suspends: list[tuple[str, dict[str, Any]]], error: Any = None) -> None:
        self.result = result
        self.error = error
        self.status = status
        self.suspends = suspends


async def run_tool(
    runtime: LocalRuntime,
    tool: Any,
    payload: dict[str, Any],
    answer: Answer | dict[str, Any] | None = None,
    session_id: str | None = None,
    max_suspends: int = 10,
) -> ToolRun:
    """Invoke a tool (as a root execution) and answer its suspends until it finishes."""
    handle = await tool.invoke(runtime.client, payload, session_id=session_id)
    return await drive(runtime, handle, answer, max_suspends)


async def drive(
    runtime: LocalRuntime, handle: Any, answer: Answer | dict[str, Any] | None, max_suspends: int = 10
) -> ToolRun:
    store = runtime.store
    cursor = 0
    suspends: list[tuple[str, dict[str, Any]]] = []
    while True:
        await runtime.run_until_idle()
        record = store.get_execution(handle.id)
        assert record is not None
        if record.status in FINISHED_STATUSES:
            result = await runtime.client.get_execution(handle.id)
            return ToolRun(result.get("result"), record.status, suspends, result.get("error"))
        events = store.list_events(handle.topic, after=cursor)
        pending = []
        for event in events:
            cursor = max(cursor, event.sequence_id)
            if event.event_type and event.event_type.startswith("suspend_"):
                pending.append((event.event_type[len("suspend_") :], event.data or {}))
        if not pending:
            raise AssertionError(f"execution {handle.id} is {record.status} with no suspend to answer")
        for key, data in pending:
            suspends.append((key, data))
            assert len(suspends) <= max_suspends, "too many suspends"
            if answer is None:
                raise AssertionError(f"unexpected suspend {key}: {data}")
            reply = answer(key, data) if callable(answer) else answer
            await runtime.client.resume(handle.root_workflow_id, handle.root_execution_id, key, reply)
