"""``await workflow.run(LocalClient(), payload)`` inside a Django project, against a real worker."""

from __future__ import annotations

import pytest

from polos import get_workflow
from polos.exceptions import ExecutionFailedError, WorkflowNotFoundError
from polos_django.client import LocalClient


async def test_workflow_run_with_local_client(worker):
    result = await get_workflow("dj_steps").run(LocalClient(), {"steps": 2}, timeout=30)
    assert result == {"values": ["s0", "s1"], "n": 2}


async def test_local_client_methods(worker):
    client = LocalClient()
    handle = await client.invoke("dj_approval", {})
    execution = await client.get_execution(handle.id)
    assert execution["workflow_id"] == "dj_approval" and execution["root_execution_id"] == handle.id
    with pytest.raises(WorkflowNotFoundError):
        await client.invoke("missing_workflow", {})
    assert await client.cancel_execution(handle.id) is True
    with pytest.raises(ExecutionFailedError, match="cancelled"):
        await client.wait_for_result(handle.id, timeout=10)
    assert await client.cancel_execution("no-such-id") is False
