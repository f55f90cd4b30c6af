"""The sandbox examples run as written (in memory; the Docker one needs an engine)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from .helpers import TEST_IMAGE, needs_docker

pytestmark = pytest.mark.once


@pytest.fixture(autouse=True)
def _example_workspaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SANDBOX_LOCAL_WORKSPACE", "SANDBOX_ALLOWLIST_WORKSPACE"):
        (tmp_path / name).mkdir()
        monkeypatch.setenv(name, str(tmp_path / name))


async def run_example(name: str) -> dict:
    module = importlib.import_module(f"examples.{name}.agents")
    importlib.reload(module)  # pick up this test's workspace
    main = importlib.import_module(f"examples.{name}.main")
    return await main.main()


async def test_local_sandbox_with_approvals(tmp_path: Path) -> None:
    outcome = await run_example("sandbox_local")
    assert outcome["status"] == "completed"
    assert [a["source"] for a in outcome["approvals"]] == ["tool_approval", "exec_security"]
    assert outcome["approvals"][1]["context"]["command"] == "node hello.js"
    tool_results = outcome["result"]["tool_results"]
    assert tool_results[-1]["result"]["stdout"] == "Hello from the sandbox!\n"
    assert (tmp_path / "SANDBOX_LOCAL_WORKSPACE" / "hello.js").exists()


async def test_exec_security_with_an_allowlist() -> None:
    outcome = await run_example("sandbox_allowlist")
    assert outcome["asked"] == ["ls; rm -rf build"]  # only the chained command needed a human
    first, second, third = outcome["tool_results"]
    assert first["exit_code"] == 0 and second["stdout"].startswith("v")
    assert "Do not delete build/" in third["error"]  # the rejection's feedback reached the model


async def test_session_sandbox_is_reused_across_turns() -> None:
    turns = (await run_example("sandbox_session"))["turns"]
    assert turns[1]["tool"]["stdout"] == "buy milk\n"  # same session, same workspace
    assert turns[2]["tool"]["stdout"] == ""  # another session


async def test_web_search_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    outcome = await run_example("sandbox_web_search")
    assert [r["url"] for r in outcome["search"]["results"]][-1] == "https://example.org/sandbox"


@needs_docker
@pytest.mark.docker
async def test_sandbox_tools_in_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_DOCKER_IMAGE", TEST_IMAGE)
    outcome = await run_example("sandbox_docker")
    assert outcome["status"] == "completed", outcome
    assert outcome["exec"]["stdout"] == "sum=42\nLinux\n1000\n"
