"""The local environment: commands in the workspace, bubblewrap isolation, limits, file operations."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from polos.sandbox import ExecOptions, LocalEnvironment, LocalEnvironmentConfig
from polos.sandbox.errors import PathNotAllowedError, SandboxFileError

from .helpers import needs_bwrap

pytestmark = pytest.mark.once


async def make_env(workspace: Path, **config: object) -> LocalEnvironment:
    env = LocalEnvironment(LocalEnvironmentConfig(cwd=str(workspace), **config), max_output_chars=2000)  # type: ignore[arg-type]
    await env.initialize()
    return env


@pytest.mark.parametrize("isolation", ["none", pytest.param("bubblewrap", marks=needs_bwrap)])
async def test_exec_basics(workspace: Path, isolation: str) -> None:
    env = await make_env(workspace, isolation=isolation)
    assert env.get_info().isolation == isolation
    result = await env.exec("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert (await env.exec("pwd")).stdout.strip() == os.path.realpath(workspace)
    (workspace / "sub").mkdir()
    assert (await env.exec("pwd", ExecOptions(cwd="sub"))).stdout.strip().endswith("/sub")
    assert (await env.exec("echo $GREETING", ExecOptions(env={"GREETING": "hi"}))).stdout == "hi\n"
    assert (await env.exec("cat", ExecOptions(stdin="piped"))).stdout == "piped"
    colored = await env.exec("printf '\\033[32mgreen\\033[0m'")
    assert colored.stdout == "green"
    long = await env.exec("seq 1 100000")
    assert long.truncated and long.stdout.startswith("1\n2\n") and long.stdout.endswith("100000\n")
    assert "characters truncated" in long.stdout and len(long.stdout) <= 2000


@pytest.mark.parametrize("isolation", ["none", pytest.param("bubblewrap", marks=needs_bwrap)])
async def test_timeout_kills_the_whole_group_with_137(workspace: Path, isolation: str) -> None:
    env = await make_env(workspace, isolation=isolation)
    started = time.monotonic()
    result = await env.exec("sleep 60 & sleep 60; echo never", ExecOptions(timeout=1))
    assert result.exit_code == 137
    assert "timeout" in result.stderr and "never" not in result.stdout
    assert time.monotonic() - started < 30


async def test_worker_secrets_do_not_leak_into_commands(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLOS_API_KEY", "sk-very-secret")
    env = await make_env(workspace, isolation="none")
    result = await env.exec("env")
    assert "sk-very-secret" not in result.stdout


async def test_limits_apply(workspace: Path) -> None:
    env = await make_env(workspace, isolation="none", max_file_size="1m", cpu_seconds=1)
    big = await env.exec("head -c 5000000 /dev/zero > big.bin; echo done")
    assert os.path.getsize(workspace / "big.bin") <= 1024 * 1024
    assert big.exit_code != 0 or "File size" in big.stderr
    spin = await env.exec("while :; do :; done", ExecOptions(timeout=30))
    assert spin.exit_code == 128 + 9 or spin.exit_code == 128 + 24 or spin.exit_code == 137  # SIGXCPU/SIGKILL
    hog = await (await make_env(workspace, isolation="none", memory="64m")).exec(
        "python3 -c 'x = bytearray(512 * 1024 * 1024)'"
    )
    assert hog.exit_code != 0 and "MemoryError" in hog.stderr


async def test_file_operations(workspace: Path) -> None:
    env = await make_env(workspace, isolation="none")
    await env.write_file("a/b/c.txt", "hello\n")
    assert (workspace / "a" / "b" / "c.txt").read_text() == "hello\n"
    assert await env.read_file("a/b/c.txt") == "hello\n"
    assert await env.file_exists("a/b/c.txt") and not await env.file_exists("nope")
    (workspace / "blob").write_bytes(b"\x00\x01\x02")
    with pytest.raises(SandboxFileError, match="binary"):
        await env.read_file("blob")
    with pytest.raises(SandboxFileError, match="not found"):
        await env.read_file("missing.txt")
    with pytest.raises(SandboxFileError, match="directory"):
        await env.read_file("a")
    with pytest.raises(PathNotAllowedError, match="outside the workspace"):
        await env.write_file("../escape.txt", "x")
    assert not (workspace.parent / "escape.txt").exists()
    assert await env.glob("**/*.txt") == ["a/b/c.txt"]
    assert [m.line for m in await env.grep("hel")] == [1]


async def test_without_path_restriction(workspace: Path, tmp_path: Path) -> None:
    env = await make_env(workspace, isolation="none", path_restriction=False)
    (tmp_path / "other.txt").write_text("x")
    assert await env.read_file("../other.txt") == "x"


@needs_bwrap
async def test_bubblewrap_isolation(workspace: Path, tmp_path: Path) -> None:
    env = await make_env(workspace, isolation="bubblewrap")
    (tmp_path / "sibling-secret.txt").write_text("s3cret")
    checks = {
        "echo hi > /usr/polos-probe": lambda r: r.exit_code != 0,
        f"cat {tmp_path}/sibling-secret.txt": lambda r: "s3cret" not in r.stdout,
        "cat /etc/shadow": lambda r: r.stdout == "",
        "grep : /proc/net/dev | cut -d: -f1": lambda r: r.stdout.split() == ["lo"],
        "bash -c 'echo PING > /dev/tcp/127.0.0.1/6379' && echo connected": lambda r: "connected" not in r.stdout,
        "echo inside > /tmp/probe && cat /tmp/probe": lambda r: r.stdout == "inside\n",
        "echo ok > written.txt": lambda r: r.exit_code == 0,
    }
    for command, check in checks.items():
        result = await env.exec(command)
        assert check(result), (command, result)
    assert not os.path.exists("/usr/polos-probe")
    assert (workspace / "written.txt").read_text() == "ok\n"


async def test_without_bubblewrap(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polos.sandbox.environments import local as local_module
    from polos.sandbox.errors import SandboxUnavailableError

    monkeypatch.setattr(local_module, "bubblewrap_available", lambda: False)
    fallback = await make_env(workspace)  # isolation="auto": plain processes
    assert fallback.get_info().isolation == "none"
    assert (await fallback.exec("echo plain")).stdout == "plain\n"
    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
        await make_env(workspace, isolation="bubblewrap")
