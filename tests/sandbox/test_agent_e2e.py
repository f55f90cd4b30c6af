"""The canonical journey on a real worker: an agent writes hello.js and runs it, with approvals.

The fake LLM server scripts the model; the worker process runs the agent and its sandbox tools;
the test answers each approval suspend like ``main.py`` does (``context["command"]`` for exec).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polos.testing import FakeLLMServer, Reply
from tests.conftest import WorkerProcess
from tests.sandbox.agents import E2E_QUEUE, sb_docker_agent, sb_local_agent

from .helpers import needs_docker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HELLO = "console.log('Hello from the sandbox')"


@pytest.fixture(scope="module")
def e2e_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sandbox-e2e")
    dirs = {"workspace": base / "workspace", "workspaces": base / "workspaces"}
    dirs["workspace"].mkdir()
    return dirs


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def _sandbox_worker(
    django_db_setup: Any, _clean_broker: None, fake_llm: FakeLLMServer, e2e_dirs: dict[str, Path]
) -> Iterator[WorkerProcess]:
    env = {
        **fake_llm.env(),
        "POLOS_SANDBOX_E2E_WORKSPACE": str(e2e_dirs["workspace"]),
        "POLOS_WORKSPACES_DIR": str(e2e_dirs["workspaces"]),
        "POLOS_TEST_EXTRA_WORKFLOW_MODULES": "tests.sandbox.agents",
    }
    worker = WorkerProcess("sandbox", extra_env=env, queues=E2E_QUEUE).start()
    yield worker
    worker.stop()


@pytest.fixture
def client(transactional_db: Any, _sandbox_worker: WorkerProcess) -> Iterator[Any]:
    from celery import current_app

    from polos_django.client import LocalClient
    from tests.celery_app import app

    previous = current_app._get_current_object()
    app.set_current()
    yield LocalClient()
    previous.set_current()


async def run_with_approvals(client: Any, agent: Any, prompt: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Invoke the agent and approve every suspend, as the canonical journey's main.py does."""
    from polos_django.store import get_store

    handle = await client.invoke(agent.id, {"input": prompt, "streaming": True})
    store = get_store()
    cursor, forms = 0, []
    for _ in range(600):
        execution = await client.get_execution(handle.id)
        if execution["status"] in ("completed", "failed", "cancelled"):
            return execution, forms
        events = await asyncio.to_thread(store.list_events, handle.topic, cursor)
        for event in events:
            cursor = max(cursor, event.sequence_id)
            if event.event_type and event.event_type.startswith("suspend_"):
                step_key = event.event_type[len("suspend_") :]
                forms.append(event.data)
                await client.resume(handle.root_workflow_id, handle.id, step_key, {"approved": True})
        await asyncio.sleep(0.1)
    raise AssertionError(f"agent run {handle.id} did not finish")


def script(prefix: str, command: str) -> list[Any]:
    return [
        Reply(text="Writing it.", tool_calls=[(f"{prefix}_write", {"path": "hello.js", "content": HELLO})]),
        Reply(text="Running it.", tool_calls=[(f"{prefix}_exec", {"command": command})]),
        Reply(text="Done: it printed Hello from the sandbox."),
    ]


def exec_result_sent_back(llm: FakeLLMServer) -> str:
    results = llm.requests[-1].tool_results
    assert results, "the model never got the exec result"
    return str(results[-1]["content"])


async def test_local_agent_writes_and_runs_hello_js(client: Any, fake_llm: FakeLLMServer, e2e_dirs: dict[str, Path]):
    fake_llm.reset(script("sbl", "node hello.js"))
    execution, forms = await run_with_approvals(
        client, sb_local_agent, "Create hello.js that prints a greeting and run it."
    )
    assert execution["status"] == "completed", execution
    assert (e2e_dirs["workspace"] / "hello.js").read_text() == HELLO
    sources = [f["_source"] for f in forms]
    assert sources == ["tool_approval", "exec_security"]  # write, then exec, each approved
    assert forms[1]["_form"]["context"]["command"] == "node hello.js"
    assert "Hello from the sandbox" in exec_result_sent_back(fake_llm)
    assert "Hello from the sandbox" in str(execution.get("result"))


@needs_docker
@pytest.mark.docker
async def test_docker_agent_writes_and_runs_hello_js(client: Any, fake_llm: FakeLLMServer, e2e_dirs: dict[str, Path]):
    import docker

    # node is in the test image when the host had one to copy (scripts/setup.d/docker.sh); else a shell script.
    engine = docker.from_env()
    image = os.environ.get("POLOS_TEST_DOCKER_IMAGE", "polos-sandbox-test:1")
    has_node = engine.containers.run(image, ["sh", "-c", "command -v node || true"], remove=True).strip() != b""
    command = "node hello.js" if has_node else "sed -n \"s/.*'\\(.*\\)'.*/\\1/p\" hello.js"
    fake_llm.reset(script("sbd", command))
    execution, forms = await run_with_approvals(client, sb_docker_agent, "Create hello.js and run it.")
    assert execution["status"] == "completed", execution
    assert [f["_source"] for f in forms] == ["exec_security"]
    assert forms[0]["_form"]["context"]["environment"] == "docker"
    assert "Hello from the sandbox" in exec_result_sent_back(fake_llm)
    # The execution-scoped container and its auto-provisioned workspace go with the execution (the
    # worker's root-finish hook runs right after the execution is marked completed).
    label = {"label": f"polos.root-execution-id={execution['id']}"}
    for _ in range(300):
        if not engine.api.containers(all=True, filters=label):  # low level: no per-container inspect
            break
        await asyncio.sleep(0.1)
    assert engine.api.containers(all=True, filters=label) == []
    workspaces = e2e_dirs["workspaces"] / "default"
    assert not workspaces.exists() or list(workspaces.iterdir()) == []
