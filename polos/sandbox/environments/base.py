"""The interface every sandbox environment implements (Docker, local, E2B)."""

from __future__ import annotations

import abc
from typing import Literal

from ..types import EnvironmentInfo, ExecOptions, ExecResult, GlobOptions, GrepMatch, GrepOptions


class ExecutionEnvironment(abc.ABC):
    """Where sandbox tools run commands and touch files.

    All paths are relative to the environment's working directory unless absolute. Methods are
    async; blocking backends (the Docker SDK) run in a thread.
    """

    @property
    @abc.abstractmethod
    def type(self) -> Literal["local", "docker", "e2b"]:
        """``"local"``, ``"docker"`` or ``"e2b"``."""

    @abc.abstractmethod
    async def initialize(self, labels: dict[str, str] | None = None) -> None:
        """Create (or attach to) the environment; ``labels`` mark ownership where supported."""

    @abc.abstractmethod
    async def destroy(self) -> None:
        """Tear the environment down (idempotent)."""

    @abc.abstractmethod
    async def exec(self, command: str, opts: ExecOptions | None = None) -> ExecResult:
        """Run a shell command; a timeout kills it and reports exit code 137."""

    @abc.abstractmethod
    async def read_file(self, path: str) -> str:
        """Read a UTF-8 text file (binary files raise :class:`~polos.sandbox.errors.SandboxFileError`)."""

    @abc.abstractmethod
    async def write_file(self, path: str, content: str) -> None:
        """Write a text file, creating parent directories."""

    @abc.abstractmethod
    async def file_exists(self, path: str) -> bool:
        """Whether a regular file exists at ``path``."""

    @abc.abstractmethod
    async def glob(self, pattern: str, opts: GlobOptions | None = None) -> list[str]:
        """Files matching a glob (``**`` crosses directories), relative to the search root."""

    @abc.abstractmethod
    async def grep(self, pattern: str, opts: GrepOptions | None = None) -> list[GrepMatch]:
        """Lines matching a regular expression."""

    @abc.abstractmethod
    def get_cwd(self) -> str:
        """The working directory commands start in."""

    @abc.abstractmethod
    def get_info(self) -> EnvironmentInfo:
        """What this environment is."""

    async def is_alive(self) -> bool:
        """Whether the environment still answers (a dead container is recreated by the manager)."""
        return True


__all__ = ["ExecutionEnvironment"]
