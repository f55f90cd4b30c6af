"""The sandbox tools run as durable executions (in a LocalRuntime): approvals, security, scopes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polos import ExecToolConfig, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools, workflow
from polos.sandbox.errors import SandboxConfigError
from polos.sandbox.manager import get_sandbox_manager, list_records
from polos.sandbox.tools import SandboxToolsResult
from polos.testing import LocalRuntime
from polos.tools.tool import is_tool_error_result

from .helpers import run_tool

pytestmark = pytest.mark.once

APPROVE = {"approved": True}


@pytest.fixture
def made() -> Iterator[list[SandboxToolsResult]]:
    results: list[SandboxToolsResult] = []
    yield results
    for result in results:
        result.unregister()


def local_tools(made: list[SandboxToolsResult], workspace: Path | None, **config: Any) -> dict[str, Any]:
    local = LocalEnvironmentConfig(cwd=str(workspace) if workspace else None, isolation="none")
    tools = sandbox_tools(SandboxToolsConfig(env="local", local=local, **config))
    made.append(tools)
    return {t.id.rsplit("_", 1)[-1] if config.get("id") else t.id: t for t in tools}


def form_of(data: dict[str, Any]) -> dict[str, Any]:
    return data["_form"]


async def test_local_exec_asks_first_and_runs_once_approved(made: list[SandboxToolsResult], workspace: Path) -> None:
    tools = local_tools(made, workspace)
    assert sorted(tools) == ["edit", "exec", "glob", "grep", "read", "write"]
    runtime = LocalRuntime()
    run = await run_tool(runtime, tools["exec"], {"command": "echo hi > out.txt; cat out.txt"}, APPROVE)
    [(_, data)] = run.suspends
    assert data["_source"] == "exec_security" and data["_tool"] == "exec"
    form = form_of(data)
    assert form["context"]["command"] == "echo hi > out.txt; cat out.txt"
    assert form["context"]["cwd"] == os.path.realpath(workspace)
    assert {f["key"] for f in form["fields"]} == {"approved", "allow_always", "feedback"}
    assert run.result["exit_code"] == 0 and run.result["stdout"] == "hi\n"
    assert set(run.result) == {"exit_code", "stdout", "stderr", "duration_ms", "truncated"}


async def test_rejection_returns_the_feedback(made: list[SandboxToolsResult], workspace: Path) -> None:
    tools = local_tools(made, workspace)
    runtime = LocalRuntime()
    answer = {"approved": False, "feedback": "use ls -la instead"}
    run = await run_tool(runtime, tools["exec"], {"command": "touch never.txt"}, answer)
    assert run.status == "completed" and is_tool_error_result(run.result)
    assert "use ls -la instead" in run.result["_polos_tool_error"] and run.result["exit_code"] == -1
    assert not (workspace / "never.txt").exists()


async def test_allow_always_covers_the_rest_of_the_session(made: list[SandboxToolsResult], workspace: Path) -> None:
    tools = local_tools(made, workspace)
    runtime = LocalRuntime()
    first = await run_tool(
        runtime, tools["exec"], {"command": "echo once"}, {"approved": True, "allow_always": True}, session_id="s1"
    )
    assert len(first.suspends) == 1
    again = await run_tool(runtime, tools["exec"], {"command": "echo once"}, None, session_id="s1")
    assert again.suspends == [] and again.result["stdout"] == "once\n"
    other = await run_tool(runtime, tools["exec"], {"command": "echo other"}, APPROVE, session_id="s1")
    assert len(other.suspends) == 1  # only that command was allowed
    elsewhere = await run_tool(runtime, tools["exec"], {"command": "echo once"}, APPROVE, session_id="s2")
    assert len(elsewhere.suspends) == 1  # another session asks again


async def test_allowlist_mode(made: list[SandboxToolsResult], workspace: Path) -> None:
    exec_config = ExecToolConfig(security="allowlist", allowlist=["echo *", "ls"])
    tools = local_tools(made, workspace, exec=exec_config)
    runtime = LocalRuntime()
    allowed = await run_tool(runtime, tools["exec"], {"command": "echo fine"})
    assert allowed.suspends == [] and allowed.result["stdout"] == "fine\n"
    chained = await run_tool(runtime, tools["exec"], {"command": "echo fine; touch pwned"}, {"approved": False})
    assert len(chained.suspends) == 1 and chained.suspends[0][1]["_source"] == "exec_security"
    assert not (workspace / "pwned").exists()
    with pytest.raises(SandboxConfigError, match="allowlist"):
        sandbox_tools(SandboxToolsConfig(env="local", id="bad", exec=ExecToolConfig(security="allowlist")))


async def test_allow_always_mode_and_timeouts(made: list[SandboxToolsResult], workspace: Path) -> None:
    tools = local_tools(made, workspace, exec=ExecToolConfig(security="allow-always", timeout=1))
    runtime = LocalRuntime()
    run = await run_tool(runtime, tools["exec"], {"command": "sleep 30"})
    assert run.result["exit_code"] == 137 and run.suspends == []


async def test_file_tools(made: list[SandboxToolsResult], workspace: Path) -> None:
    tools = local_tools(made, workspace, file_approval="none")
    runtime = LocalRuntime()
    wrote = await run_tool(runtime, tools["write"], {"path": "src/app.py", "content": "a = 1\nb = 2\nb = 2\n"})
    assert wrote.result == {"path": "src/app.py", "success": True, "bytes_written": 18}
    read = await run_tool(runtime, tools["read"], {"path": "src/app.py", "offset": 2, "limit": 1})
    assert read.result["content"] == "b = 2\n" and read.result["total_lines"] == 3 and read.result["truncated"]
    edited = await run_tool(runtime, tools["edit"], {"path": "src/app.py", "old_text": "a = 1", "new_text": "a = 10"})
    assert edited.result["success"] and (workspace / "src" / "app.py").read_text().startswith("a = 10\n")
    twice = await run_tool(runtime, tools["edit"], {"path": "src/app.py", "old_text": "b = 2", "new_text": "c"})
    assert is_tool_error_result(twice.result) and "2 times" in twice.result["_polos_tool_error"]
    missing = await run_tool(runtime, tools["edit"], {"path": "src/app.py", "old_text": "zzz", "new_text": "c"})
    assert "not found" in missing.result["_polos_tool_error"]
    found = await run_tool(runtime, tools["glob"], {"pattern": "**/*.py"})
    assert found.result == {"files": ["src/app.py"], "count": 1}
    grep = await run_tool(runtime, tools["grep"], {"pattern": "b = \\d", "include": ["*.py"], "context_lines": 1})
    assert grep.result["count"] == 2 and grep.result["matches"][0]["path"] == "src/app.py"
    nofile = await run_tool(runtime, tools["read"], {"path": "nope.txt"})
    assert is_tool_error_result(nofile.result) and "not found" in nofile.result["_polos_tool_error"]


async def test_write_asks_for_approval_in_a_local_environment(made: list[SandboxToolsResult], workspace: Path) -> None:
    tools = local_tools(made, workspace)
    runtime = LocalRuntime()
    run = await run_tool(runtime, tools["write"], {"path": "hello.js", "content": "console.log(1)"}, APPROVE)
    [(_, data)] = run.suspends
    assert data["_source"] == "tool_approval" and form_of(data)["context"]["path"] == "hello.js"
    assert (workspace / "hello.js").read_text() == "console.log(1)"


async def test_reads_outside_the_workspace_need_approval(
    made: list[SandboxToolsResult], workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("outside notes")
    tools = local_tools(made, workspace)
    runtime = LocalRuntime()
    refused = await run_tool(runtime, tools["read"], {"path": "../notes.txt"}, {"approved": False, "feedback": "no"})
    [(_, data)] = refused.suspends
    assert data["_source"] == "path_approval" and form_of(data)["context"]["path"] == str(tmp_path / "notes.txt")
    assert is_tool_error_result(refused.result) and "outside notes" not in str(refused.result)
    approved = await run_tool(runtime, tools["read"], {"path": str(tmp_path / "notes.txt")}, APPROVE)
    assert approved.result["content"] == "outside notes"
    write = await run_tool(runtime, tools["write"], {"path": "../evil.txt", "content": "x"}, APPROVE)
    assert is_tool_error_result(write.result) and not (tmp_path / "evil.txt").exists()


async def test_symlink_escapes_are_refused_without_asking(
    made: list[SandboxToolsResult], workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    (workspace / "link.txt").symlink_to(tmp_path / "secret.txt")
    tools = local_tools(made, workspace)
    runtime = LocalRuntime()
    run = await run_tool(runtime, tools["read"], {"path": "link.txt"})
    assert run.suspends == [] and is_tool_error_result(run.result)
    assert "symlink" in run.result["_polos_tool_error"] and "top secret" not in str(run.result)


async def test_two_configurations_do_not_collide(made: list[SandboxToolsResult], tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    first = local_tools(made, a, id="alpha", file_approval="none", exec=ExecToolConfig(security="allow-always"))
    with pytest.raises(SandboxConfigError, match="id="):
        local_tools(made, b, id="alpha", file_approval="always")
    second = local_tools(made, b, id="beta", file_approval="none", exec=ExecToolConfig(security="allow-always"))
    assert first["exec"].id == "alpha_exec" and second["exec"].id == "beta_exec"
    runtime = LocalRuntime()
    await run_tool(runtime, first["write"], {"path": "f.txt", "content": "A"})
    await run_tool(runtime, second["write"], {"path": "f.txt", "content": "B"})
    assert (a / "f.txt").read_text() == "A" and (b / "f.txt").read_text() == "B"


async def test_execution_scope_shares_and_then_destroys_the_sandbox(made: list[SandboxToolsResult]) -> None:
    tools = local_tools(made, None, id="scoped", file_approval="none", exec=ExecToolConfig(security="allow-always"))
    seen: dict[str, Any] = {}

    @workflow(id="sandbox_scope_parent")
    async def parent(ctx: Any) -> Any:
        await ctx.step.invoke_and_wait("w", tools["write"], {"path": "x.txt", "content": "shared"})
        out = await ctx.step.invoke_and_wait("e", tools["exec"], {"command": "cat x.txt; echo; pwd"})
        seen["records"] = [r.workspace for r in list_records()]
        return out

    runtime = LocalRuntime()
    result = await parent.run(runtime.client)
    await runtime.run_until_idle()  # the root-finish hook runs right after the status is written
    stdout = result["stdout"]
    assert stdout.startswith("shared")
    workspace_dir = stdout.splitlines()[1]
    assert seen["records"] == [workspace_dir]
    assert not os.path.exists(workspace_dir) and list_records() == []  # gone with the root execution


async def test_session_scope_reuses_and_idles_out(made: list[SandboxToolsResult]) -> None:
    tools = local_tools(
        made,
        None,
        id="sess",
        scope="session",
        idle_destroy_timeout="1h",
        file_approval="none",
        exec=ExecToolConfig(security="allow-always"),
    )
    runtime = LocalRuntime()
    await run_tool(runtime, tools["write"], {"path": "turn1.txt", "content": "one"}, session_id="chat-1")
    second = await run_tool(runtime, tools["exec"], {"command": "cat turn1.txt; echo; pwd"}, session_id="chat-1")
    assert second.result["stdout"].startswith("one")
    other = await run_tool(runtime, tools["exec"], {"command": "ls"}, session_id="chat-2")
    assert other.result["stdout"] == ""
    workspace_dir = second.result["stdout"].splitlines()[1]
    assert os.path.isdir(workspace_dir)
    no_session = await run_tool(runtime, tools["exec"], {"command": "ls"})
    assert no_session.status == "failed" and "session_id" in str(no_session.error)  # a configuration mistake
    for record in list_records():
        os.utime(record.path, (0, 0))  # idle for a long time
    assert get_sandbox_manager().sweep_idle() == 2
    assert not os.path.exists(workspace_dir)


async def test_path_approval_allow_always_covers_the_directory(
    made: list[SandboxToolsResult], workspace: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "a.txt").write_text("A")
    (shared / "sub" / "b.txt").write_text("B")
    tools = local_tools(made, workspace)
    runtime = LocalRuntime()
    always = {"approved": True, "allow_always": True}
    first = await run_tool(runtime, tools["read"], {"path": str(shared / "a.txt")}, always, session_id="p1")
    assert first.result["content"] == "A" and len(first.suspends) == 1
    below = await run_tool(runtime, tools["read"], {"path": str(shared / "sub" / "b.txt")}, None, session_id="p1")
    assert below.result["content"] == "B" and below.suspends == []  # the approved directory and below
    elsewhere = await run_tool(runtime, tools["read"], {"path": str(shared / "a.txt")}, APPROVE, session_id="p2")
    assert len(elsewhere.suspends) == 1


async def test_managed_sandbox_lifecycle() -> None:
    from polos.sandbox.errors import SandboxError

    config = SandboxToolsConfig(env="local", local=LocalEnvironmentConfig(isolation="none"))
    sandbox = get_sandbox_manager().get_or_create_sandbox(config, "lifecycle", "root-1", None)
    assert get_sandbox_manager().get_or_create_sandbox(config, "lifecycle", "root-1", None) is sandbox
    env = await sandbox.get_environment()
    assert sandbox.initialized and sandbox.last_activity_at is not None
    await sandbox.recreate()
    assert await sandbox.get_environment() is not env  # a fresh environment, same workspace
    await sandbox.destroy()
    assert not os.path.exists(env.get_cwd()) and list_records() == []  # auto-provisioned: removed
    with pytest.raises(SandboxError, match="destroyed"):
        await sandbox.get_environment()
