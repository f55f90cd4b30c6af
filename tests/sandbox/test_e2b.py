"""The E2B environment, unit-tested against a stand-in for the SDK's ``AsyncSandbox``.

No E2B service is reachable from the test machines, and the SDK talks to the sandbox's own daemon
over a protocol of its own, so these tests swap the sandbox class for a fake with the same calls
(documented in docs/sandbox.md). The SDK's real exception classes are used.
"""

from __future__ import annotations

from typing import Any

import pytest

from polos.sandbox import E2BEnvironmentConfig, ExecOptions, SandboxToolsConfig, sandbox_tools
from polos.sandbox.environments import e2b as e2b_module
from polos.sandbox.environments.e2b import E2BEnvironment
from polos.sandbox.errors import SandboxFileError, SandboxUnavailableError

e2b = pytest.importorskip("e2b")
pytestmark = pytest.mark.once


class FakeCommands:
    def __init__(self, sandbox: FakeSandbox) -> None:
        self.sandbox = sandbox

    async def run(self, cmd: str, cwd: str | None = None, envs: Any = None, timeout: float | None = None) -> Any:
        self.sandbox.calls.append(("run", cmd, cwd, envs, timeout))
        if cmd.startswith("sleep"):
            raise e2b.TimeoutException("context deadline exceeded")
        if cmd.startswith("fail"):
            raise e2b.CommandExitException(stderr="\x1b[31mboom\x1b[0m", stdout="", exit_code=2, error="exit 2")
        if "find ." in cmd:
            return _Result("./a.py\n./src/b.py\n./notes.txt\n", "", 0)
        if "grep -rnIE" in cmd:
            return _Result("./src/b.py:3:def hello():\n", "", 0)
        return _Result("x" * 500 + "\x1b[1mend\x1b[0m", "", 0)


class _Result:
    def __init__(self, stdout: str, stderr: str, exit_code: int) -> None:
        self.stdout, self.stderr, self.exit_code = stdout, stderr, exit_code


class FakeFiles:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {"/home/user/bin.dat": b"\x00\x01"}

    async def read(self, path: str, format: str = "text") -> Any:
        if path not in self.data:
            raise e2b.NotFoundException(f"{path} not found")
        return bytearray(self.data[path])

    async def write(self, path: str, data: str) -> None:
        self.data[path] = data.encode()

    async def exists(self, path: str) -> bool:
        return path in self.data


class FakeSandbox:
    created: list[dict[str, Any]] = []

    def __init__(self, **options: Any) -> None:
        self.sandbox_id = "sbx-123"
        self.options = options
        self.calls: list[Any] = []
        self.commands = FakeCommands(self)
        self.files = FakeFiles()
        self.killed = False

    @classmethod
    async def create(cls, **options: Any) -> FakeSandbox:
        cls.created.append(options)
        return cls(**options)

    async def kill(self) -> bool:
        self.killed = True
        return True

    async def is_running(self) -> bool:
        return not self.killed


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeSandbox]:
    FakeSandbox.created = []
    monkeypatch.setattr(e2b_module, "_sandbox_class", lambda: FakeSandbox)
    return FakeSandbox


async def test_e2b_environment(fake: type[FakeSandbox]) -> None:
    env = E2BEnvironment(E2BEnvironmentConfig(api_key="e2b-key", template="base", env={"A": "1"}), max_output_chars=100)
    await env.initialize({"polos.sandbox-id": "s1"})
    [options] = fake.created
    assert options["metadata"] == {"polos.sandbox-id": "s1"} and options["template"] == "base"
    assert options["api_key"] == "e2b-key" and options["timeout"] == 3600
    assert env.get_info().sandbox_id == "sbx-123" and await env.is_alive()

    result = await env.exec("echo hi", ExecOptions(cwd="src", env={"B": "2"}, timeout=5))
    assert result.truncated and result.stdout.endswith("end") and "\x1b" not in result.stdout
    sandbox = env._sandbox
    assert sandbox.calls[-1][2:] == ("/home/user/src", {"B": "2"}, 5.0)
    failed = await env.exec("fail now")
    assert (failed.exit_code, failed.stderr) == (2, "boom")
    slow = await env.exec("sleep 100", ExecOptions(timeout=1))
    assert slow.exit_code == 137 and "timeout" in slow.stderr

    await env.write_file("notes.txt", "hello")
    assert await env.read_file("notes.txt") == "hello" and await env.file_exists("notes.txt")
    with pytest.raises(SandboxFileError, match="binary"):
        await env.read_file("bin.dat")
    with pytest.raises(SandboxFileError, match="not found"):
        await env.read_file("missing")
    assert await env.glob("**/*.py") == ["a.py", "src/b.py"]
    [match] = await env.grep("hello")
    assert (match.path, match.line, match.text) == ("src/b.py", 3, "def hello():")

    await env.destroy()
    assert sandbox.killed and not await env.is_alive()


async def test_e2b_needs_a_key(fake: type[FakeSandbox], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(SandboxUnavailableError, match="E2B_API_KEY"):
        await E2BEnvironment(E2BEnvironmentConfig()).initialize()


async def test_e2b_sandbox_tools_are_built(fake: type[FakeSandbox]) -> None:
    tools = sandbox_tools(SandboxToolsConfig(env="e2b", id="cloud", e2b=E2BEnvironmentConfig(api_key="k")))
    try:
        assert [t.id for t in tools] == [f"cloud_{n}" for n in ("exec", "read", "write", "edit", "glob", "grep")]
        assert tools.binding.exec_config.security == "allow-always"
    finally:
        tools.unregister()
