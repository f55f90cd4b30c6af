"""The Docker environment against a real engine (scripts/setup.d/docker.sh starts one)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polos import DockerEnvironmentConfig, ExecToolConfig, SandboxToolsConfig, sandbox_tools, workflow
from polos.sandbox import DockerEnvironment, ExecOptions
from polos.sandbox.errors import SandboxConfigError, SandboxFileError
from polos.sandbox.manager import get_sandbox_manager, list_records
from polos.sandbox.tools import SandboxToolsResult
from polos.testing import LocalRuntime

from .helpers import TEST_IMAGE, needs_docker, run_tool

pytestmark = [pytest.mark.docker, pytest.mark.once, needs_docker]


def containers(**labels: str) -> list[Any]:
    """Sandbox containers with these labels (the low-level listing never races a removal)."""
    import docker

    client = docker.from_env()
    filters = ["polos.managed=true", *(f"{k}={v}" for k, v in labels.items())]
    return [client.containers.get(c["Id"]) for c in client.api.containers(all=True, filters={"label": filters})]


@pytest.fixture
async def env(workspace: Path) -> Any:
    environment = DockerEnvironment(
        DockerEnvironmentConfig(image=TEST_IMAGE, workspace_dir=str(workspace), memory="96m"),
        max_output_chars=5000,
        sandbox_id=f"test-{os.getpid()}-{time.monotonic_ns()}",
    )
    await environment.initialize({"polos.managed": "true", "polos.test": "1"})
    yield environment
    await environment.destroy()


@pytest.fixture
def made() -> Iterator[list[SandboxToolsResult]]:
    results: list[SandboxToolsResult] = []
    yield results
    for result in results:
        result.unregister()


async def test_container_is_locked_down(env: DockerEnvironment, workspace: Path) -> None:
    info = (await env.exec("id -u; cat /proc/net/dev | grep : | cut -d: -f1; cat /proc/1/cmdline")).stdout.split()
    assert info[0] != "0" and info[1] == "lo"  # non-root, loopback only (network none)
    assert (await env.exec("echo x > /etc/probe")).exit_code != 0  # read-only root
    assert (await env.exec("echo tmp > /tmp/probe && cat /tmp/probe")).stdout == "tmp\n"
    assert (await env.exec("echo persisted > note.txt")).exit_code == 0
    assert (workspace / "note.txt").read_text() == "persisted\n"  # the workspace is the host directory


async def test_memory_hog_is_killed_with_137(env: DockerEnvironment) -> None:
    result = await env.exec("x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo ${#x}", ExecOptions(timeout=60))
    assert result.exit_code == 137


async def test_timeout_kills_the_command_group(env: DockerEnvironment) -> None:
    started = time.monotonic()
    result = await env.exec("sleep 60 & sleep 60", ExecOptions(timeout=1))
    assert result.exit_code == 137 and time.monotonic() - started < 30
    leftovers = (await env.exec("ps -o comm | grep -c sleep")).stdout.strip()
    assert leftovers == "1"  # only the container's own keep-alive sleep


async def test_output_and_files(env: DockerEnvironment) -> None:
    colored = await env.exec("printf '\\033[31mred\\033[0m'; seq 1 20000")
    assert colored.stdout.startswith("red1\n") and colored.truncated and colored.stdout.endswith("20000\n")
    await env.write_file("dir/a.txt", "alpha\nbeta\n" + "x" * 200_000)
    assert (await env.read_file("dir/a.txt")).startswith("alpha\nbeta\n")
    assert await env.file_exists("dir/a.txt") and not await env.file_exists("dir/none")
    assert await env.glob("**/*.txt") == ["dir/a.txt"]
    [match] = await env.grep("bet", None)
    assert (match.path, match.line, match.text) == ("dir/a.txt", 2, "beta")
    await env.exec("head -c 100 /dev/urandom > blob; ln -s /etc/passwd link")
    with pytest.raises(SandboxFileError, match="binary"):
        await env.read_file("blob")
    with pytest.raises(SandboxFileError, match="symlink"):
        await env.read_file("link")


async def test_setup_command_and_missing_image(workspace: Path) -> None:
    environment = DockerEnvironment(
        DockerEnvironmentConfig(image=TEST_IMAGE, workspace_dir=str(workspace), setup_command="echo ready > setup.txt"),
        sandbox_id=f"setup-{os.getpid()}",
    )
    await environment.initialize({"polos.managed": "true"})
    try:
        assert (workspace / "setup.txt").read_text() == "ready\n"
    finally:
        await environment.destroy()
    missing = DockerEnvironment(DockerEnvironmentConfig(image="polos-no-such-image:0"), sandbox_id=f"m-{os.getpid()}")
    with pytest.raises(SandboxConfigError, match="could not be pulled"):
        await missing.initialize({})


async def test_execution_sandbox_is_removed_with_the_execution(made: list[SandboxToolsResult]) -> None:
    tools = sandbox_tools(SandboxToolsConfig(env="docker", id="dk", docker=DockerEnvironmentConfig(image=TEST_IMAGE)))
    made.append(tools)
    write, exec_tool = tools[2], tools[0]
    seen: dict[str, Any] = {}

    @workflow(id="docker_scope_parent")
    async def parent(ctx: Any) -> Any:
        await ctx.step.invoke_and_wait("w", write, {"path": "app.txt", "content": "hello"})
        out = await ctx.step.invoke_and_wait("e", exec_tool, {"command": "cat app.txt"})
        seen["containers"] = [c.name for c in containers(**{"polos.root-execution-id": ctx.root_execution_id})]
        return out

    runtime = LocalRuntime()
    result = await parent.run(runtime.client)
    await runtime.run_until_idle()  # the root-finish hook runs right after the status is written
    assert result["stdout"] == "hello"
    assert len(seen["containers"]) == 1
    assert [c.name for c in containers()] == [] or seen["containers"][0] not in [c.name for c in containers()]
    assert list_records() == []


async def test_dead_container_is_recreated(made: list[SandboxToolsResult]) -> None:
    tools = sandbox_tools(
        SandboxToolsConfig(
            env="docker",
            id="heal",
            scope="session",
            docker=DockerEnvironmentConfig(image=TEST_IMAGE),
            exec=ExecToolConfig(security="allow-always"),
        )
    )
    made.append(tools)
    runtime = LocalRuntime()
    try:
        first = await run_tool(runtime, tools[0], {"command": "echo one > one.txt; hostname"}, session_id="heal-1")
        [container] = containers(**{"polos.session-id": "heal-1"})
        container.remove(force=True)  # the container dies under the sandbox
        second = await run_tool(runtime, tools[0], {"command": "cat one.txt; hostname"}, session_id="heal-1")
        assert second.result["exit_code"] == 0 and second.result["stdout"].startswith("one\n")  # workspace kept
        assert second.result["stdout"].split()[-1] != first.result["stdout"].strip()  # a new container
    finally:
        await get_sandbox_manager().destroy_all()
    assert containers(**{"polos.session-id": "heal-1"}) == []


async def test_orphan_sweeper_removes_containers_whose_owner_is_gone(workspace: Path) -> None:
    import docker

    client = docker.from_env()
    finished = client.containers.run(
        TEST_IMAGE,
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        labels={"polos.managed": "true", "polos.scope": "execution", "polos.root-execution-id": "done-exec"},
    )
    dead_worker = client.containers.run(
        TEST_IMAGE,
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        labels={
            "polos.managed": "true",
            "polos.scope": "execution",
            "polos.root-execution-id": "live-exec",
            "polos.worker-id": f"{os.uname().nodename}:999999",
        },
    )
    alive = client.containers.run(
        TEST_IMAGE,
        ["sleep", "600"],
        detach=True,
        network_mode="none",
        labels={
            "polos.managed": "true",
            "polos.scope": "execution",
            "polos.root-execution-id": "live-exec",
            "polos.worker-id": f"{os.uname().nodename}:{os.getpid()}",
        },
    )
    try:
        removed = get_sandbox_manager().sweep_orphans(lambda root: root == "done-exec", grace_seconds=0)
        assert finished.name in removed and dead_worker.name in removed and alive.name not in removed
    finally:
        for c in (finished, dead_worker, alive):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
