"""The E2B environment: a cloud sandbox through the ``e2b`` SDK (``pip install 'polos-django[e2b]'``).

The sandbox's id is kept on the environment and stamped with ownership metadata. Commands and files
go through the SDK's ``commands`` and ``files`` APIs; output handling (ANSI stripping, truncation,
binary detection, 137 on timeout) is the same as for the other environments. This module is
unit-tested against a stand-in for the SDK's sandbox class (no E2B service is reachable from the
test machines); see ``docs/sandbox.md``.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Literal

from ..errors import SandboxError, SandboxFileError, SandboxUnavailableError
from ..files import glob_regex
from ..output import clean_output, is_binary
from ..process import KILLED_EXIT_CODE
from ..types import (
    DEFAULT_MAX_OUTPUT_CHARS,
    DEFAULT_TIMEOUT_SECONDS,
    E2BEnvironmentConfig,
    EnvironmentInfo,
    ExecOptions,
    ExecResult,
    GlobOptions,
    GrepMatch,
    GrepOptions,
)
from .base import ExecutionEnvironment

DEFAULT_CWD = "/home/user"
MAX_READ_BYTES = 10 * 1024 * 1024


def check_e2b_available() -> None:
    """Raise a clear error when the ``e2b`` SDK is not installed."""
    try:
        import e2b  # noqa: F401
    except ImportError:
        raise SandboxUnavailableError("env='e2b' needs the E2B SDK: pip install 'polos-django[e2b]'") from None


def _sandbox_class() -> Any:
    check_e2b_available()
    from e2b import AsyncSandbox

    return AsyncSandbox


class E2BEnvironment(ExecutionEnvironment):
    """Runs commands in an E2B sandbox.

    Args:
        config: template, API key, lifetime, working directory.
        max_output_chars: output kept per stream (head and tail).
    """

    def __init__(self, config: E2BEnvironmentConfig | None = None, max_output_chars: int | None = None) -> None:
        self.config = config or E2BEnvironmentConfig()
        self.max_output_chars = max_output_chars or DEFAULT_MAX_OUTPUT_CHARS
        self.cwd = self.config.cwd or DEFAULT_CWD
        self._sandbox: Any = None

    @property
    def type(self) -> Literal["e2b"]:
        return "e2b"

    @property
    def sandbox_id(self) -> str | None:
        return getattr(self._sandbox, "sandbox_id", None)

    def get_cwd(self) -> str:
        return self.cwd

    def get_info(self) -> EnvironmentInfo:
        return EnvironmentInfo(type="e2b", cwd=self.cwd, sandbox_id=self.sandbox_id, os="linux", isolation="e2b")

    async def initialize(self, labels: dict[str, str] | None = None) -> None:
        cls = _sandbox_class()
        api_key = self.config.api_key or os.environ.get("E2B_API_KEY")
        if not api_key:
            raise SandboxUnavailableError(
                "env='e2b' needs an API key: E2BEnvironmentConfig(api_key=...) or $E2B_API_KEY"
            )
        options: dict[str, Any] = {"api_key": api_key}
        if self.config.domain:
            options["domain"] = self.config.domain
        try:
            self._sandbox = await cls.create(
                template=self.config.template,
                timeout=self.config.timeout or 3600,
                metadata=dict(labels or {}),
                envs=self.config.env,
                **options,
            )
        except Exception as exc:
            raise SandboxUnavailableError(f"could not create the E2B sandbox: {type(exc).__name__}") from None
        if self.config.setup_command:
            result = await self.exec(self.config.setup_command, ExecOptions(timeout=DEFAULT_TIMEOUT_SECONDS))
            if result.exit_code != 0:
                await self.destroy()
                raise SandboxError(f"setup_command failed with exit code {result.exit_code}: {result.stderr[-2000:]}")

    async def destroy(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            with contextlib.suppress(Exception):  # already gone
                await sandbox.kill()

    async def is_alive(self) -> bool:
        if self._sandbox is None:
            return False
        try:
            return bool(await self._sandbox.is_running())
        except Exception:
            return False

    def _require(self) -> Any:
        if self._sandbox is None:
            raise SandboxError("the E2B sandbox is not running (initialize() first)")
        return self._sandbox

    def _path(self, path: str) -> str:
        return os.path.normpath(path if path.startswith("/") else f"{self.cwd}/{path}")

    async def exec(self, command: str, opts: ExecOptions | None = None) -> ExecResult:
        from e2b import CommandExitException, TimeoutException

        opts = opts or ExecOptions()
        sandbox = self._require()
        timeout = float(opts.timeout or DEFAULT_TIMEOUT_SECONDS)
        started = time.monotonic()
        if opts.stdin is not None:
            import base64
            import shlex

            encoded = base64.b64encode(opts.stdin.encode()).decode()
            command = f"echo {encoded} | base64 -d | sh -c {shlex.quote(command)}"
        timed_out = False
        try:
            result = await sandbox.commands.run(
                command,
                cwd=self._path(opts.cwd) if opts.cwd else self.cwd,
                envs=opts.env,
                timeout=timeout,
            )
            code, out, err = result.exit_code, result.stdout, result.stderr
        except CommandExitException as exc:
            code, out, err = exc.exit_code, exc.stdout, exc.stderr
        except TimeoutException:
            timed_out = True
            code, out, err = KILLED_EXIT_CODE, "", ""
        stdout, t1 = clean_output(out or "", self.max_output_chars)
        stderr, t2 = clean_output(err or "", self.max_output_chars)
        if timed_out:
            stderr = (
                stderr + "\n" if stderr else ""
            ) + f"[killed: the command ran longer than its {timeout:g} s timeout]"
        return ExecResult(
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            duration_ms=int((time.monotonic() - started) * 1000),
            truncated=t1 or t2,
        )

    async def read_file(self, path: str) -> str:
        from e2b import NotFoundException

        sandbox = self._require()
        try:
            data = await sandbox.files.read(self._path(path), format="bytes")
        except NotFoundException:
            raise SandboxFileError(f"file not found: {path}") from None
        data = bytes(data)
        if len(data) > MAX_READ_BYTES:
            raise SandboxFileError(f"{path} is larger than 10 MiB; read a part with exec")
        if is_binary(data):
            raise SandboxFileError(f"{path} is a binary file; it cannot be read as text")
        return data.decode("utf-8")

    async def write_file(self, path: str, content: str) -> None:
        await self._require().files.write(self._path(path), content)

    async def file_exists(self, path: str) -> bool:
        return bool(await self._require().files.exists(self._path(path)))

    async def glob(self, pattern: str, opts: GlobOptions | None = None) -> list[str]:
        opts = opts or GlobOptions()
        root = self._path(opts.cwd) if opts.cwd else self.cwd
        result = await self.exec(f"cd {root!r} && find . -type f -not -path '*/.git/*'", ExecOptions(timeout=120))
        if result.exit_code != 0:
            raise SandboxFileError(f"glob in {root} failed: {result.stderr.strip()}")
        regex = glob_regex(pattern[2:] if pattern.startswith("./") else pattern)
        ignores = [glob_regex(p) for p in opts.ignore or []]
        found = []
        for line in result.stdout.splitlines():
            rel = line[2:] if line.startswith("./") else line
            if regex.match(rel) and not any(i.match(rel) or i.match(os.path.basename(rel)) for i in ignores):
                found.append(rel)
        return sorted(found)[:1000]

    async def grep(self, pattern: str, opts: GrepOptions | None = None) -> list[GrepMatch]:
        """Matching lines (``context_lines`` is not supported here: no context is returned)."""
        import shlex

        opts = opts or GrepOptions()
        root = self._path(opts.cwd) if opts.cwd else self.cwd
        limit = int(opts.max_results or 100)
        includes = " ".join(f"--include={shlex.quote(p)}" for p in opts.include or [])
        result = await self.exec(
            f"cd {shlex.quote(root)} && grep -rnIE {includes} -e {shlex.quote(pattern)} . | head -n {limit}",
            ExecOptions(timeout=120),
        )
        matches = []
        for line in result.stdout.splitlines():
            rel, _, rest = line.partition(":")
            number, _, text = rest.partition(":")
            if number.isdigit():
                matches.append(GrepMatch(path=rel[2:] if rel.startswith("./") else rel, line=int(number), text=text))
        return matches


__all__ = ["E2BEnvironment", "check_e2b_available"]
