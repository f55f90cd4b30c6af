"""Fixtures of the UI tests: staff users, a logged-in test client, executions with events."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _ui_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.browser"  # the test project's URLs plus the app's (admin, API, UI)


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ops", password="pw-ops-123", is_staff=True)


@pytest.fixture
def staff_client(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def make_execution(
    workflow_id: str = "ui_flow",
    status: str = "completed",
    *,
    created_at: dt.datetime | None = None,
    parent: Any = None,
    session_id: str | None = None,
    payload: Any = None,
    result: Any = None,
    **fields: Any,
) -> Any:
    """An execution row (no worker involved)."""
    from polos_django.models import Execution

    ident = str(uuid.uuid4())
    root = parent.root_execution_id if parent is not None else ident
    root_wf = parent.root_workflow_id if parent is not None else workflow_id
    return Execution.objects.create(
        id=ident,
        workflow_id=workflow_id,
        status=status,
        root_execution_id=root,
        root_workflow_id=root_wf,
        parent=parent,
        session_id=session_id,
        payload=json.dumps(payload) if payload is not None else None,
        result=json.dumps(result) if result is not None else None,
        created_at=created_at or dt.datetime.now(dt.UTC),
        **fields,
    )


def add_event(execution: Any, event_type: str, data: Any) -> Any:
    from polos_django.models import Event

    return Event.objects.create(
        project_id=execution.project_id,
        topic=execution.topic,
        event_type=event_type,
        data=json.dumps(data),
        execution_id=execution.id,
    )
