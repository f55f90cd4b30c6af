"""The sandbox's configuration and result types (the Polos shapes, plus a few safe extensions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EnvironmentType = Literal["local", "docker", "e2b"]
SandboxScope = Literal["execution", "session"]
ExecSecurity = Literal["allow-always", "allowlist", "approval-always"]
ToolName = Literal["exec", "read", "write", "edit", "glob", "grep"]
ALL_TOOLS: tuple[ToolName, ...] = ("exec", "read", "write", "edit", "glob", "grep")

DEFAULT_TIMEOUT_SECONDS = 300
DEFAULT_MAX_OUTPUT_CHARS = 100_000
DEFAULT_DOCKER_IMAGE = "node:20-slim"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- inputs and outputs of the environment primitives ---------------------------------------------


class ExecOptions(_Model):
    """Options of one command."""

    cwd: str | None = Field(default=None, description="Working directory (relative to the workspace)")
    env: dict[str, str] | None = Field(default=None, description="Extra environment variables")
    timeout: int | None = Field(default=None, description="Timeout in seconds (default 300); killed with exit 137")
    stdin: str | None = Field(default=None, description="Data piped to stdin")


class ExecResult(_Model):
    """The result of one command: ANSI stripped, long output truncated (head and tail kept)."""

    exit_code: int = Field(description="Exit code; 137 when the command was killed (timeout, memory)")
    stdout: str = Field(description="Standard output")
    stderr: str = Field(description="Standard error")
    duration_ms: int = Field(description="Wall-clock duration in milliseconds")
    truncated: bool = Field(description="Whether stdout or stderr was truncated")


class GlobOptions(_Model):
    """Options of a glob search."""

    cwd: str | None = Field(default=None, description="Directory to search from (relative to the workspace)")
    ignore: list[str] | None = Field(default=None, description="Glob patterns to leave out")


class GrepOptions(_Model):
    """Options of a content search."""

    cwd: str | None = Field(default=None, description="Directory to search from (relative to the workspace)")
    include: list[str] | None = Field(default=None, description='File name globs to search (e.g. "*.py")')
    max_results: int | None = Field(default=None, description="Maximum number of matches (default 100)")
    context_lines: int | None = Field(default=None, description="Lines of context around each match")


class GrepMatch(_Model):
    """One line that matched."""

    path: str = Field(description="File path relative to the search root")
    line: int = Field(description="Line number (1-based)")
    text: str = Field(description="The matching line")
    context: str | None = Field(default=None, description="Context lines around the match")


class EnvironmentInfo(_Model):
    """What an environment is and where it works."""

    type: EnvironmentType
    cwd: str
    sandbox_id: str | None = None
    os: str | None = None
    isolation: str | None = Field(default=None, description="docker, bubblewrap, e2b or none")


# --- configuration -----------------------------------------------------------------------------


class DockerEnvironmentConfig(_Model):
    """A Docker container per sandbox, the workspace bind-mounted at ``container_workdir``."""

    image: str = Field(default=DEFAULT_DOCKER_IMAGE, description='Image to run (default "node:20-slim")')
    workspace_dir: str | None = Field(default=None, description="Host directory mounted as the workspace")
    container_workdir: str = Field(default="/workspace", description="The workspace inside the container")
    env: dict[str, str] | None = Field(default=None, description="Environment variables of the container")
    memory: str | None = Field(default="1g", description='Memory limit ("512m", "2g")')
    cpus: str | float | None = Field(default="1", description='CPU limit ("1", "0.5")')
    pids_limit: int | None = Field(default=256, description="Maximum number of processes")
    network: str = Field(default="none", description='Network mode (default "none": no network at all)')
    user: str | None = Field(default=None, description='User to run as (default: the worker\'s uid, or "1000:1000")')
    read_only: bool = Field(default=True, description="Read-only root filesystem (workspace and /tmp writable)")
    tmp_size: str = Field(default="256m", description="Size of the writable /tmp")
    setup_command: str | None = Field(default=None, description="Command run once after the container starts")
    pull: bool = Field(default=True, description="Pull the image when the engine does not have it")


class E2BEnvironmentConfig(_Model):
    """An E2B cloud sandbox (``pip install 'polos-django[e2b]'``)."""

    template: str | None = Field(default=None, description='E2B template (default "base")')
    api_key: str | None = Field(default=None, description="E2B API key (default: $E2B_API_KEY)")
    timeout: int | None = Field(default=None, description="Sandbox lifetime in seconds (default 3600)")
    cwd: str | None = Field(default=None, description='Working directory in the sandbox (default "/home/user")')
    env: dict[str, str] | None = Field(default=None, description="Environment variables")
    setup_command: str | None = Field(default=None, description="Command run once after the sandbox starts")
    domain: str | None = Field(default=None, description="E2B domain (default: $E2B_DOMAIN or e2b.app)")


class LocalEnvironmentConfig(_Model):
    """Commands run on this machine in the workspace, inside bubblewrap when it is available."""

    cwd: str | None = Field(default=None, description="The workspace (default: an auto-provisioned directory)")
    path_restriction: str | Literal[False] | None = Field(
        default=None,
        description="File tools stay inside this directory (default: cwd); False turns the restriction off",
    )
    isolation: Literal["auto", "bubblewrap", "none"] = Field(
        default="auto", description='"auto": bubblewrap when available; "bubblewrap": required; "none": plain processes'
    )
    readonly_paths: list[str] | None = Field(
        default=None, description="Extra host paths visible read-only inside bubblewrap (system dirs always are)"
    )
    cpu_seconds: int | None = Field(default=600, description="CPU-time limit of one command")
    memory: str | None = Field(default="4g", description="Address-space limit of one command")
    max_file_size: str | None = Field(default="1g", description="Largest file one command may write")
    env: dict[str, str] | None = Field(default=None, description="Environment variables of every command")


class ExecToolConfig(_Model):
    """The exec tool's security mode and limits."""

    security: ExecSecurity | None = Field(
        default=None, description="allow-always, allowlist or approval-always (local default: approval-always)"
    )
    allowlist: list[str] | None = Field(default=None, description="Glob patterns of commands that run without approval")
    timeout: int | None = Field(default=None, description="Default timeout in seconds (default 300)")
    max_output_chars: int | None = Field(default=None, description="Output kept per stream (default 100000)")


class SandboxToolsConfig(_Model):
    """What :func:`polos.sandbox_tools` builds."""

    env: EnvironmentType | None = Field(default=None, description='Environment (default "docker")')
    scope: SandboxScope | None = Field(default=None, description='"execution" (default) or "session"')
    id: str | None = Field(
        default=None,
        description="Names this configuration; its tools are then called '<id>_exec' etc. Needed when one process "
        "defines two sandbox configurations.",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,40}$",
    )
    idle_destroy_timeout: str | None = Field(default=None, description='Session sandboxes idle this long die ("1h")')
    cwd: str | None = Field(default=None, description="Default working directory override")
    tools: list[ToolName] | None = Field(default=None, description="Subset of tools (default: all six)")
    docker: DockerEnvironmentConfig | None = None
    e2b: E2BEnvironmentConfig | None = None
    local: LocalEnvironmentConfig | None = None
    exec: ExecToolConfig | None = None
    file_approval: Literal["always", "none"] | None = Field(
        default=None, description="Approval before write/edit (local default: always)"
    )
    queue: str | None = Field(
        default=None, description="Queue the tools' executions run on (e.g. workers that have Docker)"
    )
