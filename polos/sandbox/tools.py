"""The sandbox tools (``exec``, ``read``, ``write``, ``edit``, ``glob``, ``grep``) and :func:`sandbox_tools`.

Each tool is a :class:`~polos.tools.Tool` (a durable child execution of the agent). The tools of one
:func:`sandbox_tools` call share a sandbox per root execution (or per session), found through the
process's :class:`~polos.sandbox.manager.SandboxManager`. Expected failures (a missing file, a path
outside the workspace, a rejected approval) come back to the model as error results; they do not
fail the agent.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ..tools.tool import Tool, request_approval, tool_error_result
from ..workflow import get_workflow, unregister
from .environments.base import ExecutionEnvironment
from .errors import SandboxConfigError, SandboxError
from .manager import ManagedSandbox, get_sandbox_manager, install_root_finish_hook
from .security import allowlist_match, exact_pattern
from .types import (
    ALL_TOOLS,
    DEFAULT_TIMEOUT_SECONDS,
    DockerEnvironmentConfig,
    ExecOptions,
    ExecToolConfig,
    GlobOptions,
    GrepOptions,
    SandboxToolsConfig,
    ToolName,
)

if TYPE_CHECKING:
    from ..context import WorkflowContext

MAX_READ_LINES = 2000


# --- inputs ------------------------------------------------------------------------------------


class ExecInput(BaseModel):
    command: str = Field(description="The shell command to run")
    cwd: str | None = Field(default=None, description="Working directory, relative to the workspace")
    env: dict[str, str] | None = Field(default=None, description="Extra environment variables")
    timeout: int | None = Field(default=None, description="Timeout in seconds (default 300)", ge=1, le=86400)


class ReadInput(BaseModel):
    path: str = Field(description="File path, relative to the workspace")
    offset: int | None = Field(default=None, description="First line to return (1-based)", ge=1)
    limit: int | None = Field(default=None, description=f"Number of lines (default {MAX_READ_LINES})", ge=1)


class WriteInput(BaseModel):
    path: str = Field(description="File path, relative to the workspace")
    content: str = Field(description="The whole new content of the file")


class EditInput(BaseModel):
    path: str = Field(description="File path, relative to the workspace")
    old_text: str = Field(description="Exact text to replace; it must occur exactly once in the file")
    new_text: str = Field(description="Replacement text")


class GlobInput(BaseModel):
    pattern: str = Field(description="Glob such as '**/*.py' ('**' crosses directories)")
    cwd: str | None = Field(default=None, description="Directory to search from, relative to the workspace")
    ignore: list[str] | None = Field(default=None, description="Globs to leave out")


class GrepInput(BaseModel):
    pattern: str = Field(description="Regular expression to search for")
    cwd: str | None = Field(default=None, description="Directory to search from, relative to the workspace")
    include: list[str] | None = Field(default=None, description="File globs to search, e.g. ['*.py']")
    max_results: int | None = Field(default=None, description="Maximum matches (default 100)", ge=1, le=10000)
    context_lines: int | None = Field(default=None, description="Context lines around each match", ge=0, le=50)


# --- the shared binding ------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class SandboxBinding:
    """What the tools of one :func:`sandbox_tools` call share: the configuration and its policies."""

    def __init__(self, config: SandboxToolsConfig) -> None:
        self.config = config
        self.name = config.id or "default"
        self.prefix = f"{config.id}_" if config.id else ""
        self.env_type = config.env or "docker"
        if self.env_type == "docker" and config.docker is None:
            config = config.model_copy(update={"docker": DockerEnvironmentConfig()})  # node:20-slim
            self.config = config
        if self.env_type == "e2b":
            from .environments.e2b import check_e2b_available

            check_e2b_available()
        exec_config = config.exec or ExecToolConfig()
        if exec_config.security is None:
            # A local environment is the host itself: ask before running anything unless told otherwise.
            exec_config = exec_config.model_copy(
                update={"security": "approval-always" if self.env_type == "local" else "allow-always"}
            )
        if exec_config.security == "allowlist" and not exec_config.allowlist:
            raise SandboxConfigError("ExecToolConfig(security='allowlist') needs allowlist=['pattern', ...]")
        self.exec_config = exec_config
        self.file_approval = config.file_approval or ("always" if self.env_type == "local" else "none")
        self.fingerprint = _digest(config.model_dump_json())

    def tool_id(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def sandbox(self, ctx: WorkflowContext) -> ManagedSandbox:
        return get_sandbox_manager().get_or_create_sandbox(
            self.config, self.name, ctx.root_execution_id, ctx.session_id, getattr(ctx, "project_id", "default")
        )

    async def environment(self, ctx: WorkflowContext) -> ExecutionEnvironment:
        return await self.sandbox(ctx).get_environment()

    def _scope_key(self, ctx: WorkflowContext, kind: str, value: str) -> str:
        owner = ctx.session_id or ctx.root_execution_id
        project = getattr(ctx, "project_id", "default")
        return f"sandbox_allow:{project}:{self.name}:{owner}:{kind}:{_digest(value)}"

    async def remembered(self, ctx: WorkflowContext, step_key: str, keys: list[str]) -> bool:
        """Whether an earlier "always allow" in this session covers one of ``keys`` (recorded once)."""
        from ..memory.store import conversation_store

        memory = conversation_store(ctx)

        def lookup() -> bool:
            return any(bool(memory.get_value(key)) for key in keys)

        return bool(await ctx.step.run(step_key, lookup, max_retries=0))

    async def approve(
        self,
        ctx: WorkflowContext,
        *,
        tool_id: str,
        source: str,
        title: str,
        description: str,
        context: dict[str, Any],
        remember_key: str,
        check_keys: list[str] | None = None,
    ) -> tuple[bool, str | None]:
        """Ask a human (unless an earlier "always allow" covers it); returns ``(approved, feedback)``."""
        from ..memory.store import conversation_store

        if await self.remembered(ctx, f"{source}_remembered", check_keys or [remember_key]):
            return True, None
        decision = await request_approval(
            ctx,
            tool_id=tool_id,
            title=title,
            description=description,
            context=context,
            source=source,
            key=f"approve_{tool_id}_{ctx.execution_id}",
            allow_always_scope=f"{tool_id}:{remember_key}",
        )
        if decision.approved and decision.allow_always:
            memory = conversation_store(ctx)
            await ctx.step.run(f"{source}_remember", memory.set_value, remember_key, True, max_retries=0)
        return decision.approved, decision.feedback


class SandboxTool(Tool):
    """Base of the six sandbox tools."""

    tool_name: ToolName = "exec"
    input_class: type[BaseModel] = ExecInput
    summary = ""

    def __init__(self, binding: SandboxBinding) -> None:
        self.binding = binding
        super().__init__(
            id=binding.tool_id(self.tool_name),
            description=self.summary,
            input_model=self.input_class,
            queue=binding.config.queue,
        )

    async def execute(self, ctx: WorkflowContext, input: Any) -> Any:
        try:
            env = await self.binding.environment(ctx)
            return await self.run_tool(ctx, env, input)
        except SandboxError as exc:
            return tool_error_result(str(exc), code=exc.code)

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: Any) -> Any:
        raise NotImplementedError

    async def reject(self, approved: bool, feedback: str | None, what: str) -> dict[str, Any] | None:
        if approved:
            return None
        message = f"The user rejected {what}."
        if feedback:
            message += f" Feedback: {feedback}"
        return tool_error_result(message, rejected=True, feedback=feedback)

    # Path policy for the local environment: outside the workspace needs approval (reads) or is refused.
    async def outside_path_allowed(
        self, ctx: WorkflowContext, env: ExecutionEnvironment, path: str
    ) -> bool | dict[str, Any]:
        from .environments.local import LocalEnvironment

        if not isinstance(env, LocalEnvironment) or env.workspace is None:
            return False
        resolved = env.resolve_path(path)  # raises for symlink escapes: refused, never approved
        if resolved.inside:
            return False
        binding = self.binding
        directory = resolved.path if os.path.isdir(resolved.path) else os.path.dirname(resolved.path)
        ancestors = []
        current = directory
        while True:
            ancestors.append(binding._scope_key(ctx, "path", current))
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        approved, feedback = await binding.approve(
            ctx,
            tool_id=self.id,
            source="path_approval",
            title=f"Allow {self.tool_name} outside the workspace?",
            description=f"The agent wants to {self.tool_name} {resolved.path}, outside its workspace "
            f"{env.workspace.root}.",
            context={"path": resolved.path, "workspace": env.workspace.root, "tool": self.tool_name},
            remember_key=binding._scope_key(ctx, "path", directory),
            check_keys=ancestors,
        )
        rejected = await self.reject(approved, feedback, f"access to {resolved.path}")
        return rejected if rejected is not None else True


class ExecTool(SandboxTool):
    tool_name = "exec"
    input_class = ExecInput
    summary = (
        "Run a shell command in the sandbox. Returns exit_code, stdout, stderr, duration_ms and truncated. "
        "Use it to run programs, tests and builds."
    )

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: ExecInput) -> Any:
        binding = self.binding
        config = binding.exec_config
        command = input.command
        if not command.strip():
            return tool_error_result("exec needs a command")
        # Environment variables change what an allowed command does (LD_PRELOAD, PATH, GIT_SSH_COMMAND...):
        # a call that sets any is never allowed by the allowlist alone.
        needs_approval = config.security == "approval-always" or (
            config.security == "allowlist"
            and (bool(input.env) or allowlist_match(command, config.allowlist or []) is None)
        )
        if needs_approval:
            info = env.get_info()
            approved, feedback = await binding.approve(
                ctx,
                tool_id=self.id,
                source="exec_security",
                title="Approve command execution",
                description=f"The agent wants to run a shell command in the {info.type} environment"
                + (f" ({info.isolation} isolation)." if info.isolation else "."),
                context={
                    "command": command,
                    "cwd": input.cwd or env.get_cwd(),
                    "environment": info.type,
                    "isolation": info.isolation,
                    "security": config.security,
                    **({"env": input.env} if input.env else {}),
                },
                remember_key=binding._scope_key(
                    ctx, "exec", exact_pattern(command) + repr(sorted((input.env or {}).items()))
                ),
            )
            rejected = await self.reject(approved, feedback, f"the command: {command}")
            if rejected is not None:
                rejected.update({"exit_code": -1, "stdout": "", "stderr": rejected["_polos_tool_error"]})
                return rejected
        options = ExecOptions(
            cwd=input.cwd, env=input.env, timeout=input.timeout or config.timeout or DEFAULT_TIMEOUT_SECONDS
        )

        async def run() -> dict[str, Any]:
            try:
                return (await env.exec(command, options)).model_dump()
            except SandboxError as exc:
                return tool_error_result(str(exc), code=exc.code)

        return await ctx.step.run("exec", run, max_retries=0)


class ReadTool(SandboxTool):
    tool_name = "read"
    input_class = ReadInput
    summary = "Read a text file from the sandbox workspace. Optional offset (1-based line) and limit (lines)."

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: ReadInput) -> Any:
        outside = await self.outside_path_allowed(ctx, env, input.path)
        if isinstance(outside, dict):
            return outside
        if outside:
            content = await env.read_file(input.path, allow_outside=True)  # type: ignore[call-arg]
        else:
            content = await env.read_file(input.path)
        lines = content.splitlines(keepends=True)
        start = (input.offset or 1) - 1
        limit = input.limit or MAX_READ_LINES
        selected = lines[start : start + limit]
        return {
            "path": input.path,
            "content": "".join(selected),
            "total_lines": len(lines),
            "offset": start + 1,
            "lines": len(selected),
            "truncated": start + limit < len(lines),
        }


class WriteTool(SandboxTool):
    tool_name = "write"
    input_class = WriteInput
    summary = "Create or overwrite a text file in the sandbox workspace (parent directories are created)."

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: WriteInput) -> Any:
        if self.binding.file_approval == "always":
            approved, feedback = await self.binding.approve(
                ctx,
                tool_id=self.id,
                source="tool_approval",
                title=f"Allow writing {input.path}?",
                description="The agent wants to create or overwrite a file in its workspace.",
                context={"path": input.path, "content": input.content[:4000], "bytes": len(input.content.encode())},
                remember_key=self.binding._scope_key(ctx, "tool", self.tool_name),
            )
            rejected = await self.reject(approved, feedback, f"writing {input.path}")
            if rejected is not None:
                return rejected
        await env.write_file(input.path, input.content)
        return {"path": input.path, "success": True, "bytes_written": len(input.content.encode())}


class EditTool(SandboxTool):
    tool_name = "edit"
    input_class = EditInput
    summary = "Replace one exact occurrence of old_text with new_text in a file of the sandbox workspace."

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: EditInput) -> Any:
        if not input.old_text:
            return tool_error_result("old_text is empty; use the write tool to create a file")
        content = await env.read_file(input.path)
        count = content.count(input.old_text)
        if count == 0:
            return tool_error_result(f"old_text was not found in {input.path}; read the file and copy the text exactly")
        if count > 1:
            return tool_error_result(
                f"old_text occurs {count} times in {input.path}; include more surrounding text so it is unique"
            )
        if self.binding.file_approval == "always":
            approved, feedback = await self.binding.approve(
                ctx,
                tool_id=self.id,
                source="tool_approval",
                title=f"Allow editing {input.path}?",
                description="The agent wants to change a file in its workspace.",
                context={"path": input.path, "old_text": input.old_text[:4000], "new_text": input.new_text[:4000]},
                remember_key=self.binding._scope_key(ctx, "tool", self.tool_name),
            )
            rejected = await self.reject(approved, feedback, f"editing {input.path}")
            if rejected is not None:
                return rejected
        await env.write_file(input.path, content.replace(input.old_text, input.new_text, 1))
        return {"path": input.path, "success": True, "replacements": 1}


class GlobTool(SandboxTool):
    tool_name = "glob"
    input_class = GlobInput
    summary = "Find files in the sandbox workspace by glob pattern (e.g. '**/*.js'). Returns relative paths."

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: GlobInput) -> Any:
        outside = await self.outside_path_allowed(ctx, env, input.cwd) if input.cwd else False
        if isinstance(outside, dict):
            return outside
        options = GlobOptions(cwd=input.cwd, ignore=input.ignore)
        if outside:
            files = await env.glob(input.pattern, options, allow_outside=True)  # type: ignore[call-arg]
        else:
            files = await env.glob(input.pattern, options)
        return {"files": files, "count": len(files)}


class GrepTool(SandboxTool):
    tool_name = "grep"
    input_class = GrepInput
    summary = "Search file contents in the sandbox workspace with a regular expression."

    async def run_tool(self, ctx: WorkflowContext, env: ExecutionEnvironment, input: GrepInput) -> Any:
        outside = await self.outside_path_allowed(ctx, env, input.cwd) if input.cwd else False
        if isinstance(outside, dict):
            return outside
        options = GrepOptions(
            cwd=input.cwd, include=input.include, max_results=input.max_results, context_lines=input.context_lines
        )
        if outside:
            matches = await env.grep(input.pattern, options, allow_outside=True)  # type: ignore[call-arg]
        else:
            matches = await env.grep(input.pattern, options)
        return {"matches": [m.model_dump(exclude_none=True) for m in matches], "count": len(matches)}


TOOL_CLASSES: dict[str, type[SandboxTool]] = {
    "exec": ExecTool,
    "read": ReadTool,
    "write": WriteTool,
    "edit": EditTool,
    "glob": GlobTool,
    "grep": GrepTool,
}


class SandboxToolsResult(list[Tool]):
    """The tools :func:`sandbox_tools` made (a list), with their shared configuration."""

    binding: SandboxBinding

    @property
    def config(self) -> SandboxToolsConfig:
        return self.binding.config

    async def cleanup(self) -> None:
        """Destroy the sandboxes this process created for this configuration."""
        manager = get_sandbox_manager()
        for sandbox in list(manager._sandboxes.values()):
            if sandbox.config is self.binding.config:
                await sandbox.destroy()
                manager.forget(sandbox.id)

    def unregister(self) -> None:
        """Remove the tools from the workflow registry (tests, reconfiguration)."""
        for item in self:
            if get_workflow(item.id) is item:
                unregister(item.id)


def sandbox_tools(config: SandboxToolsConfig | None = None) -> SandboxToolsResult:
    """Make the sandbox tools for an agent: ``exec``, ``read``, ``write``, ``edit``, ``glob``, ``grep``.

    The tools share one sandbox per root execution (``scope="execution"``, destroyed when it ends)
    or per session id (``scope="session"``). A local environment asks for approval before exec,
    write and edit unless configured otherwise.

    Args:
        config: environment, scope, exec security, tool subset. Default: a Docker environment,
            which needs ``docker=DockerEnvironmentConfig(image=...)``.

    Raises:
        SandboxConfigError: the configuration cannot work, or another configuration in this process
            already uses the same tool names (give each one its own ``id``).
    """
    config = config or SandboxToolsConfig()
    binding = SandboxBinding(config)
    names: list[str] = list(dict.fromkeys(config.tools or ALL_TOOLS))
    for name in names:
        existing = get_workflow(binding.tool_id(name))
        if isinstance(existing, SandboxTool) and existing.binding.fingerprint != binding.fingerprint:
            raise SandboxConfigError(
                f"another sandbox configuration in this process already has a tool named {existing.id!r}; give each "
                "configuration its own SandboxToolsConfig(id='...') (its tools are then named '<id>_exec', ...)"
            )
    result = SandboxToolsResult(TOOL_CLASSES[name](binding) for name in names)
    result.binding = binding
    install_root_finish_hook()
    return result


__all__ = [
    "EditInput",
    "ExecInput",
    "GlobInput",
    "GrepInput",
    "ReadInput",
    "SandboxBinding",
    "SandboxTool",
    "SandboxToolsResult",
    "WriteInput",
    "sandbox_tools",
]
