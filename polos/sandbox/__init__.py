"""Sandboxed execution for agents: environments, security rules, tools and their lifecycle.

``sandbox_tools(SandboxToolsConfig(...))`` gives an agent ``exec``, ``read``, ``write``, ``edit``,
``glob`` and ``grep`` backed by a Docker container, a local workspace (isolated with bubblewrap
when available) or an E2B sandbox. See ``docs/sandbox.md``.
"""

from __future__ import annotations

from .environments import DockerEnvironment, E2BEnvironment, ExecutionEnvironment, LocalEnvironment
from .errors import (
    PathNotAllowedError,
    SandboxConfigError,
    SandboxError,
    SandboxFileError,
    SandboxUnavailableError,
)
from .manager import ManagedSandbox, SandboxManager, get_sandbox_manager
from .tools import SandboxToolsResult, sandbox_tools
from .types import (
    DockerEnvironmentConfig,
    E2BEnvironmentConfig,
    EnvironmentInfo,
    ExecOptions,
    ExecResult,
    ExecToolConfig,
    GlobOptions,
    GrepMatch,
    GrepOptions,
    LocalEnvironmentConfig,
    SandboxToolsConfig,
)

__all__ = [
    "DockerEnvironment",
    "DockerEnvironmentConfig",
    "E2BEnvironment",
    "E2BEnvironmentConfig",
    "EnvironmentInfo",
    "ExecOptions",
    "ExecResult",
    "ExecToolConfig",
    "ExecutionEnvironment",
    "GlobOptions",
    "GrepMatch",
    "GrepOptions",
    "LocalEnvironment",
    "LocalEnvironmentConfig",
    "ManagedSandbox",
    "PathNotAllowedError",
    "SandboxConfigError",
    "SandboxError",
    "SandboxFileError",
    "SandboxManager",
    "SandboxToolsConfig",
    "SandboxToolsResult",
    "SandboxUnavailableError",
    "get_sandbox_manager",
    "sandbox_tools",
]
