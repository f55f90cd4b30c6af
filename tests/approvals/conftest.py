"""Helpers of the approvals tests: start a workflow on the shared worker and wait for its suspend."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from polos.types import ExecutionHandle
from polos_django import client
from polos_django.models import Event, Execution
from tests.conftest import wait_until


@pytest.fixture
def approval_urls(settings: Any) -> None:
    """The test client sees the app's URLs (approval pages, Slack endpoints) and the admin."""
    settings.ROOT_URLCONF = "tests.browser"


def suspend_data(handle: ExecutionHandle, key: str) -> dict[str, Any]:
    row = Event.objects.filter(execution_id=handle.id, event_type=f"suspend_{key}").order_by("-id").first()
    assert row is not None, f"no suspend_{key} event"
    return json.loads(row.data)


def approval_path(handle: ExecutionHandle, key: str) -> str:
    return urlsplit(suspend_data(handle, key)["_approval_url"]).path


@pytest.fixture
def suspended(worker: Any) -> Callable[..., ExecutionHandle]:
    """``suspended(workflow_id, payload)``: invoke on the shared worker and wait until it suspends."""

    def start(workflow_id: str, payload: Any = None) -> ExecutionHandle:
        handle = client.invoke(workflow_id, payload or {})
        wait_until(
            lambda: Execution.objects.get(id=handle.id).status in ("waiting", "failed", "completed"),
            timeout=60,
            message=f"{workflow_id} to suspend",
        )
        assert Execution.objects.get(id=handle.id).status == "waiting", Execution.objects.get(id=handle.id).error
        return handle

    return start
