"""The local environment: commands on this machine, in the workspace, inside bubblewrap when possible.

With bubblewrap (``bwrap``) each command runs in fresh namespaces: no network, its own PID tree,
the system directories (``/usr``, ``/etc`` minus password hashes and SSH keys...) read-only, the
workspace the only writable host directory, a private ``/tmp``, no capabilities, and a clean
environment. Without it, commands are plain processes in the workspace (with the same resource
limits and clean environment); :func:`polos.sandbox_tools` then keeps exec approval on by default.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
from typing import Literal

from ..errors import PathNotAllowedError, SandboxConfigError, SandboxFileError, SandboxUnavailableError
from ..files import glob_files, grep_files
from ..output import is_binary
from ..process import parse_size, rlimit_prefix, rlimit_setter, run_process
from ..security import ResolvedPath, Workspace, is_within
from ..types import (
    DEFAULT_MAX_OUTPUT_CHARS,
    DEFAULT_TIMEOUT_SECONDS,
    EnvironmentInfo,
    ExecOptions,
    ExecResult,
    GlobOptions,
    GrepMatch,
    GrepOptions,
    LocalEnvironmentConfig,
)
from .base import ExecutionEnvironment

MAX_READ_BYTES = 10 * 1024 * 1024
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Secrets that live under /etc: hidden even though /etc is visible.
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers")
MASKED_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d", "/etc/postgresql", "/etc/redis")
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_bwrap_probe: dict[str, bool] = {}


def bubblewrap_available() -> bool:
    """Whether ``bwrap`` is installed and can create a sandbox on this machine (checked once)."""
    path = shutil.which("bwrap")
    if path is None:
        return False
    if path not in _bwrap_probe:
        import subprocess

        try:
            done = subprocess.run(
                [path, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net", "--die-with-parent", "true"],
                capture_output=True,
                timeout=10,
            )
            _bwrap_probe[path] = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _bwrap_probe[path] = False
    return _bwrap_probe[path]


class LocalEnvironment(ExecutionEnvironment):
    """Runs commands and file operations in a workspace directory on this machine.

    Args:
        config: where the workspace is, how commands are isolated and limited.
        max_output_chars: output kept per stream (head and tail).
    """

    def __init__(self, config: LocalEnvironmentConfig | None = None, max_output_chars: int | None = None) -> None:
        self.config = config or LocalEnvironmentConfig()
        self.cwd = os.path.realpath(self.config.cwd or os.getcwd())
        restriction = self.config.path_restriction
        self.workspace: Workspace | None = None
        if restriction is not False:
            self.workspace = Workspace(restriction or self.cwd)
        self.max_output_chars = max_output_chars or DEFAULT_MAX_OUTPUT_CHARS
        self.memory = parse_size(self.config.memory, "LocalEnvironmentConfig.memory")
        self.max_file_size = parse_size(self.config.max_file_size, "LocalEnvironmentConfig.max_file_size")
        self.bwrap: str | None = None
        self._sandbox_id: str | None = None

    @property
    def type(self) -> Literal["local"]:
        return "local"

    @property
    def isolation(self) -> str:
        return "bubblewrap" if self.bwrap else "none"

    async def initialize(self, labels: dict[str, str] | None = None) -> None:
        os.makedirs(self.cwd, exist_ok=True)
        self._sandbox_id = (labels or {}).get("polos.sandbox-id")
        mode = self.config.isolation
        if mode != "none":
            available = await asyncio.to_thread(bubblewrap_available)
            if available:
                self.bwrap = shutil.which("bwrap")
            elif mode == "bubblewrap":
                raise SandboxUnavailableError(
                    "LocalEnvironmentConfig(isolation='bubblewrap') but bwrap is not installed or cannot create a "
                    "sandbox here; install it (apt-get install bubblewrap) or use isolation='auto'"
                )

    async def destroy(self) -> None:
        """Nothing to tear down: the workspace belongs to whoever provisioned it."""

    async def is_alive(self) -> bool:
        """False once the workspace is gone (an idle sweep in another process removed it)."""
        return os.path.isdir(self.cwd)

    def get_cwd(self) -> str:
        return self.cwd

    def get_info(self) -> EnvironmentInfo:
        return EnvironmentInfo(
            type="local",
            cwd=self.cwd,
            sandbox_id=self._sandbox_id,
            os=f"{platform.system()} {platform.release()}",
            isolation=self.isolation,
        )

    # --- paths ---------------------------------------------------------------------------------

    def resolve_path(self, path: str, cwd: str | None = None) -> ResolvedPath:
        """Check a path against the path restriction (see :class:`~polos.sandbox.security.Workspace`)."""
        if self.workspace is None:
            base = self.cwd if cwd is None else os.path.join(self.cwd, cwd)
            full = os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))
            return ResolvedPath(os.path.realpath(full), True, path)
        return self.workspace.resolve(path, cwd if cwd is None or os.path.isabs(cwd) else os.path.join(self.cwd, cwd))

    def _checked(self, path: str, allow_outside: bool) -> ResolvedPath:
        resolved = self.resolve_path(path)
        if not resolved.inside and not allow_outside:
            assert self.workspace is not None
            raise PathNotAllowedError(
                f"{path!r} is outside the workspace ({self.workspace.root}); use a path inside it"
            )
        return resolved

    # --- commands ------------------------------------------------------------------------------

    def _command_env(self, extra: dict[str, str] | None) -> dict[str, str]:
        # A clean environment: the worker's own variables (API keys, database URLs) never leak in.
        env = {
            "PATH": SAFE_PATH if self.bwrap else os.environ.get("PATH", SAFE_PATH),
            "HOME": "/tmp" if self.bwrap else self.cwd,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
        }
        env.update(self.config.env or {})
        env.update(extra or {})
        return env

    def _bwrap_args(self, cwd: str) -> list[str]:
        assert self.bwrap is not None
        args = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-all", "--hostname", "sandbox"]
        if os.geteuid() == 0:
            args += ["--cap-drop", "ALL"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for path in self.config.readonly_paths or []:
            real = os.path.realpath(path)
            if os.path.exists(real):
                args += ["--ro-bind", real, real]
        files, dirs = _masked_paths()
        for path in files:
            args += ["--ro-bind", "/dev/null", path]
        for path in dirs:
            args += ["--tmpfs", path]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
        roots = {self.cwd}
        if self.workspace is not None:
            roots.add(self.workspace.root)
        for root in sorted(roots):
            args += ["--bind", root, root]
        args += ["--chdir", cwd]
        return args

    async def exec(self, command: str, opts: ExecOptions | None = None) -> ExecResult:
        opts = opts or ExecOptions()
        cwd = self.cwd
        if opts.cwd:
            resolved = self.resolve_path(opts.cwd)
            if not resolved.inside:
                raise PathNotAllowedError(f"exec cwd {opts.cwd!r} is outside the workspace")
            cwd = resolved.path
            if not os.path.isdir(cwd):
                raise SandboxFileError(f"exec cwd {opts.cwd!r} is not a directory in the workspace")
        if self.bwrap and not any(is_within(cwd, r) for r in (self.cwd, *(self._roots()))):
            raise PathNotAllowedError(f"exec cwd {cwd!r} is not visible inside the sandbox")
        shell = ["/bin/sh", "-c", command]
        argv = [*self._bwrap_args(cwd), *shell] if self.bwrap else shell
        limits = (self.config.cpu_seconds, self.memory, self.max_file_size)
        prefix = rlimit_prefix(*limits)
        return await run_process(
            [*prefix, *argv] if prefix else argv,
            cwd=cwd,
            env=self._command_env(opts.env),
            timeout=float(opts.timeout or DEFAULT_TIMEOUT_SECONDS),
            max_output_chars=self.max_output_chars,
            stdin=opts.stdin,
            preexec_fn=None if prefix else rlimit_setter(*limits),
        )

    def _roots(self) -> list[str]:
        return [self.workspace.root] if self.workspace is not None else []

    # --- files ---------------------------------------------------------------------------------

    def _open(self, resolved: ResolvedPath, flags: int) -> int:
        try:
            if self.workspace is not None and resolved.inside:
                return self.workspace.open_beneath(resolved.path, flags)
            return os.open(resolved.path, flags, 0o644)
        except FileNotFoundError:
            raise SandboxFileError(f"file not found: {resolved.requested}") from None
        except IsADirectoryError:
            raise SandboxFileError(f"{resolved.requested} is a directory, not a file") from None
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: the last component is a symlink
                raise PathNotAllowedError(f"{resolved.requested!r} is a symlink; it is not followed") from None
            raise SandboxFileError(f"cannot open {resolved.requested}: {exc.strerror}") from None

    def read_bytes(self, path: str, allow_outside: bool = False) -> bytes:
        """Read raw bytes (at most 10 MiB); ``allow_outside`` after a path approval."""
        resolved = self._checked(path, allow_outside)
        fd = self._open(resolved, os.O_RDONLY | os.O_NONBLOCK)
        if not _is_regular(fd):
            os.close(fd)
            kind = "a directory" if os.path.isdir(resolved.path) else "not a regular file"
            raise SandboxFileError(f"{path} is {kind}; read needs a text file")
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_READ_BYTES + 1)
        if len(data) > MAX_READ_BYTES:
            raise SandboxFileError(
                f"{path} is larger than {MAX_READ_BYTES // (1024 * 1024)} MiB; read a part with exec"
            )
        return data

    async def read_file(self, path: str, allow_outside: bool = False) -> str:
        data = await asyncio.to_thread(self.read_bytes, path, allow_outside)
        if is_binary(data):
            raise SandboxFileError(f"{path} is a binary file ({len(data)} bytes); it cannot be read as text")
        return data.decode("utf-8")

    def _write(self, path: str, content: str) -> None:
        resolved = self._checked(path, False)
        data = content.encode("utf-8")
        if self.max_file_size and len(data) > self.max_file_size:
            raise SandboxFileError(f"content is larger than the file-size limit ({self.config.max_file_size})")
        if self.workspace is None:
            os.makedirs(os.path.dirname(resolved.path), exist_ok=True)
        fd = self._open(resolved, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK)
        with os.fdopen(fd, "wb") as f:
            if not _is_regular(f.fileno()):
                raise SandboxFileError(f"{path} is not a regular file")
            f.truncate(0)
            f.write(data)

    async def write_file(self, path: str, content: str) -> None:
        await asyncio.to_thread(self._write, path, content)

    async def file_exists(self, path: str) -> bool:
        resolved = self.resolve_path(path)
        return resolved.inside and os.path.isfile(resolved.path) and not os.path.islink(resolved.path)

    def _search_root(self, cwd: str | None, allow_outside: bool) -> str:
        resolved = self._checked(cwd or ".", allow_outside)
        if not os.path.isdir(resolved.path):
            raise SandboxFileError(f"{cwd} is not a directory")
        return resolved.path

    async def glob(self, pattern: str, opts: GlobOptions | None = None, allow_outside: bool = False) -> list[str]:
        opts = opts or GlobOptions()
        root = self._search_root(opts.cwd, allow_outside)
        return await asyncio.to_thread(glob_files, root, pattern, opts.ignore)

    async def grep(self, pattern: str, opts: GrepOptions | None = None, allow_outside: bool = False) -> list[GrepMatch]:
        opts = opts or GrepOptions()
        root = self._search_root(opts.cwd, allow_outside)
        return await asyncio.to_thread(grep_files, root, pattern, opts.include, opts.max_results, opts.context_lines)

    def __repr__(self) -> str:
        return f"<LocalEnvironment {self.cwd} isolation={self.isolation}>"


_masked: tuple[list[str], list[str]] | None = None


def _masked_paths() -> tuple[list[str], list[str]]:
    """Files and directories under /etc hidden inside bubblewrap (computed once per process).

    The known secrets, plus everything that is not world-readable (database configs with
    passwords, private keys...): inside the sandbox only what any user could read is visible.
    """
    global _masked
    if _masked is None:
        files = [p for p in MASKED_FILES if os.path.isfile(p)]
        dirs = [p for p in MASKED_DIRS if os.path.isdir(p)]
        for root, subdirs, names in os.walk("/etc"):
            for name in list(subdirs):
                path = os.path.join(root, name)
                if not os.path.islink(path) and not _world_readable(path):
                    dirs.append(path)
                    subdirs.remove(name)  # hidden as a whole
            for name in names:
                path = os.path.join(root, name)
                if not os.path.islink(path) and os.path.isfile(path) and not _world_readable(path):
                    files.append(path)
        hidden = tuple(dirs)
        files = [f for f in dict.fromkeys(files) if not f.startswith(tuple(d + "/" for d in hidden))]
        dirs = [d for d in dict.fromkeys(dirs) if not any(d.startswith(h + "/") for h in hidden)]
        _masked = (files, dirs)
    return _masked


def _world_readable(path: str) -> bool:
    import stat

    try:
        return bool(os.stat(path, follow_symlinks=False).st_mode & stat.S_IROTH)
    except OSError:
        return True


def _is_regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def check_local_config(config: LocalEnvironmentConfig) -> None:
    """Fail early on a configuration that cannot work."""
    if config.cwd is not None and not config.cwd.strip():
        raise SandboxConfigError("LocalEnvironmentConfig.cwd is empty; give a directory or leave it out")


__all__ = ["LocalEnvironment", "bubblewrap_available"]
