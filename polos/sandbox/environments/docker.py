"""The Docker environment: one container per sandbox, the workspace bind-mounted.

Containers are created through the ``docker`` SDK (``pip install 'polos-django[docker]'``) with no
network by default, memory/CPU/PID limits, a read-only root filesystem with a writable workspace
and ``/tmp``, a non-root user, no capabilities and ``no-new-privileges``. A container is named after
its sandbox, so any worker process on the machine finds the one another process created; labels
record the owner (sandbox, root execution or session, worker host and pid) for the orphan sweeper.
File operations run inside the container, so a symlink the agent planted can only point at the
container's own filesystem, never at the host's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shlex
import time
import uuid
from typing import Any, Literal

from ..errors import SandboxConfigError, SandboxError, SandboxFileError, SandboxUnavailableError
from ..files import glob_regex
from ..output import clean_output, is_binary
from ..process import KILLED_EXIT_CODE, BoundedBuffer, parse_size
from ..types import (
    DEFAULT_MAX_OUTPUT_CHARS,
    DEFAULT_TIMEOUT_SECONDS,
    DockerEnvironmentConfig,
    EnvironmentInfo,
    ExecOptions,
    ExecResult,
    GlobOptions,
    GrepMatch,
    GrepOptions,
)
from .base import ExecutionEnvironment

MAX_READ_BYTES = 10 * 1024 * 1024
WRITE_CHUNK = 60_000  # base64 characters per exec argument (well under the kernel's 128 KiB limit)
READY_MARKER = "/tmp/.polos-ready"
SANDBOX_UID = "1000:1000"


def docker_client() -> Any:
    """A Docker SDK client from the environment (``DOCKER_HOST``...); raises if the engine is unreachable."""
    try:
        import docker
    except ImportError:
        raise SandboxUnavailableError(
            "the Docker environment needs the docker SDK: pip install 'polos-django[docker]'"
        ) from None
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:
        raise SandboxUnavailableError(
            f"cannot reach a Docker engine ({exc}); start dockerd or set DOCKER_HOST"
        ) from None
    return client


def container_name(sandbox_id: str) -> str:
    """The container name of a sandbox (stable, so every worker finds the same container)."""
    return f"polos-{sandbox_id}"


class DockerEnvironment(ExecutionEnvironment):
    """Runs commands in a Docker container.

    Args:
        config: image, workspace, limits, network.
        max_output_chars: output kept per stream (head and tail).
        sandbox_id: names the container; a random id when not given.
    """

    def __init__(
        self,
        config: DockerEnvironmentConfig,
        max_output_chars: int | None = None,
        sandbox_id: str | None = None,
    ) -> None:
        if not config.image:
            raise SandboxConfigError("DockerEnvironmentConfig.image is required (an image already on the engine)")
        if not config.container_workdir.startswith("/"):
            raise SandboxConfigError("DockerEnvironmentConfig.container_workdir must be an absolute path")
        self.config = config
        self.max_output_chars = max_output_chars or DEFAULT_MAX_OUTPUT_CHARS
        self.sandbox_id = sandbox_id or uuid.uuid4().hex[:12]
        self.name = container_name(self.sandbox_id)
        self.memory = parse_size(config.memory, "DockerEnvironmentConfig.memory")
        try:
            self.nano_cpus = int(float(config.cpus) * 1e9) if config.cpus is not None else None
        except ValueError:
            raise SandboxConfigError(f"DockerEnvironmentConfig.cpus must be a number, got {config.cpus!r}") from None
        self._client: Any = None
        self._container: Any = None
        self.created = False

    @property
    def type(self) -> Literal["docker"]:
        return "docker"

    @property
    def container_id(self) -> str | None:
        return self._container.id if self._container is not None else None

    def get_cwd(self) -> str:
        return self.config.container_workdir

    def get_info(self) -> EnvironmentInfo:
        return EnvironmentInfo(
            type="docker", cwd=self.get_cwd(), sandbox_id=self.container_id, os="linux", isolation="docker"
        )

    # --- lifecycle -----------------------------------------------------------------------------

    def _user(self) -> str:
        if self.config.user:
            return self.config.user
        return SANDBOX_UID if os.geteuid() == 0 else f"{os.geteuid()}:{os.getegid()}"

    def _prepare_workspace(self) -> str | None:
        host = self.config.workspace_dir
        if host is None:
            return None
        host = os.path.realpath(host)
        os.makedirs(host, exist_ok=True)
        if os.geteuid() == 0 and not self.config.user:
            # The container runs as uid 1000, never as root: hand it the workspace directory.
            uid, gid = (int(x) for x in SANDBOX_UID.split(":"))
            with contextlib.suppress(OSError):
                os.chown(host, uid, gid)
        return host

    def _create_sync(self, labels: dict[str, str]) -> None:
        import docker.errors

        client = self._client = docker_client()
        with contextlib.suppress(docker.errors.NotFound):
            existing = client.containers.get(self.name)
            if existing.status == "running":
                self._container = existing
                self._wait_ready()
                return
            existing.remove(force=True)
        self._ensure_image(client)
        host = self._prepare_workspace()
        volumes = {host: {"bind": self.config.container_workdir, "mode": "rw"}} if host else None
        tmpfs = {"/tmp": f"rw,nosuid,nodev,size={self.config.tmp_size},mode=1777"}
        if not host:
            tmpfs[self.config.container_workdir] = f"rw,nosuid,nodev,size={self.config.tmp_size},mode=1777"
        try:
            self._container = client.containers.run(
                self.config.image,
                ["sleep", "2147483647"],
                name=self.name,
                detach=True,
                init=True,
                labels=labels,
                network_mode=self.config.network,
                mem_limit=self.memory,
                memswap_limit=self.memory,
                nano_cpus=self.nano_cpus,
                pids_limit=self.config.pids_limit,
                read_only=self.config.read_only,
                tmpfs=tmpfs,
                volumes=volumes,
                working_dir=self.config.container_workdir,
                environment={"HOME": "/tmp", **(self.config.env or {})},
                user=self._user(),
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
            )
        except docker.errors.ImageNotFound:
            raise SandboxConfigError(
                f"image {self.config.image!r} is not on the Docker engine; pull or build it first"
            ) from None
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # another worker created it at the same moment
                self._container = client.containers.get(self.name)
                self._wait_ready()
                return
            raise SandboxError(f"could not create the sandbox container: {exc.explanation or exc}") from None
        self.created = True
        if self.config.setup_command:
            result = self._exec_sync(self.config.setup_command, ExecOptions(timeout=DEFAULT_TIMEOUT_SECONDS))
            if result.exit_code != 0:
                self._remove_sync()
                output = result.stderr[-2000:] or result.stdout[-2000:]
                raise SandboxError(f"setup_command failed with exit code {result.exit_code}: {output}")
        self._raw_exec(["sh", "-c", f"touch {READY_MARKER}"], None, None)

    def _ensure_image(self, client: Any) -> None:
        import docker.errors

        try:
            client.images.get(self.config.image)
            return
        except docker.errors.ImageNotFound:
            if not self.config.pull:
                raise SandboxConfigError(
                    f"image {self.config.image!r} is not on the Docker engine; pull or build it first "
                    "(or set DockerEnvironmentConfig(pull=True))"
                ) from None
        try:
            client.images.pull(self.config.image)
        except docker.errors.APIError as exc:
            raise SandboxConfigError(
                f"image {self.config.image!r} is not on the Docker engine and could not be pulled "
                f"({exc.explanation or exc}); pull or build it first"
            ) from None

    def _wait_ready(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        # Another worker created the container; its setup_command may still be running.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code, _, _ = self._raw_exec(["test", "-e", READY_MARKER], None, None)
            if code == 0:
                return
            time.sleep(0.2)
        raise SandboxError(f"sandbox container {self.name} did not finish its setup within {timeout:g} s")

    async def initialize(self, labels: dict[str, str] | None = None) -> None:
        await asyncio.to_thread(self._create_sync, dict(labels or {}))

    def _remove_sync(self) -> None:
        import docker.errors

        client = self._client or docker_client()
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(self.name).remove(force=True)
        self._container = None

    async def destroy(self) -> None:
        await asyncio.to_thread(self._remove_sync)

    async def is_alive(self) -> bool:
        def check() -> bool:
            import docker.errors

            if self._container is None:
                return False
            try:
                self._container.reload()
            except docker.errors.NotFound:
                return False
            return bool(self._container.status == "running")

        return await asyncio.to_thread(check)

    # --- commands ------------------------------------------------------------------------------

    def _raw_exec(
        self, cmd: list[str], workdir: str | None, env: dict[str, str] | None, keep: int = 1 << 20
    ) -> tuple[int, bytes, bytes]:
        code, out, err = self._exec_buffers(cmd, workdir, env, keep)
        return code, out.value(), err.value()

    def _exec_buffers(
        self, cmd: list[str], workdir: str | None, env: dict[str, str] | None, keep: int
    ) -> tuple[int, BoundedBuffer, BoundedBuffer]:
        api = self._api()
        exec_id = api.exec_create(self._container.id, cmd, workdir=workdir, environment=env)["Id"]
        out, err = BoundedBuffer(keep), BoundedBuffer(keep)
        for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
            if chunk_out:
                out.feed(chunk_out)
            if chunk_err:
                err.feed(chunk_err)
        code = api.exec_inspect(exec_id).get("ExitCode")
        return (code if code is not None else KILLED_EXIT_CODE), out, err

    def _api(self) -> Any:
        if self._container is None:
            raise SandboxError("the sandbox container is not running (initialize() first)")
        return self._container.client.api

    def _exec_sync(self, command: str, opts: ExecOptions) -> ExecResult:
        started = time.monotonic()
        timeout = float(opts.timeout or DEFAULT_TIMEOUT_SECONDS)
        token = uuid.uuid4().hex
        pidfile = f"/tmp/.polos-exec-{token}"
        # The wrapper records its pid (the exec's process-group leader) so a timeout can kill the group.
        # Its children share its process group; it removes the pid file itself when done.
        script = f'echo $$ > {pidfile}; sh -c "$0"; rc=$?; rm -f {pidfile}; exit $rc'
        if opts.stdin is not None:
            encoded = base64.b64encode(opts.stdin.encode()).decode()
            script = f'echo $$ > {pidfile}; echo {encoded} | base64 -d | sh -c "$0"; rc=$?; rm -f {pidfile}; exit $rc'
        workdir = self._workdir(opts.cwd)
        env = {"LANG": "C.UTF-8", "TERM": "dumb", "NO_COLOR": "1", **(opts.env or {})}
        result: dict[str, Any] = {}

        def run() -> None:
            result["value"] = self._exec_buffers(["sh", "-c", script, command], workdir, env, self.max_output_chars * 4)

        import threading

        thread = threading.Thread(target=run, daemon=True, name=f"polos-docker-exec-{token[:6]}")
        thread.start()
        thread.join(timeout)
        timed_out = thread.is_alive()
        if timed_out:
            with contextlib.suppress(Exception):
                self._raw_exec(["sh", "-c", f'kill -KILL -- -"$(cat {pidfile})"'], None, None)
            thread.join(10)
            with contextlib.suppress(Exception):
                self._raw_exec(["rm", "-f", pidfile], None, None)
        if "value" not in result:
            if not timed_out:
                raise SandboxError(f"command in sandbox container {self.name} failed to run")
            code, out, err = KILLED_EXIT_CODE, BoundedBuffer(0), BoundedBuffer(0)
        else:
            code, out, err = result["value"]
        stdout, t1 = clean_output(out.value(), self.max_output_chars, out.dropped)
        stderr, t2 = clean_output(err.value(), self.max_output_chars, err.dropped)
        if timed_out:
            code = KILLED_EXIT_CODE
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

    def _workdir(self, cwd: str | None) -> str:
        base = self.config.container_workdir
        if not cwd:
            return base
        return os.path.normpath(cwd if cwd.startswith("/") else f"{base}/{cwd}")

    async def exec(self, command: str, opts: ExecOptions | None = None) -> ExecResult:
        return await asyncio.to_thread(self._exec_sync, command, opts or ExecOptions())

    async def _sh(self, script: str, *args: str, timeout: int = 120) -> tuple[int, bytes, bytes]:
        def run() -> tuple[int, bytes, bytes]:
            return self._raw_exec(["sh", "-c", script, "sh", *args], self.config.container_workdir, None, 64 << 20)

        return await asyncio.wait_for(asyncio.to_thread(run), timeout=timeout)

    # --- files ---------------------------------------------------------------------------------

    async def read_file(self, path: str) -> str:
        code, out, err = await self._sh(
            'if [ -L "$1" ]; then echo "is a symlink" >&2; exit 4; fi; '
            '[ -f "$1" ] || { echo "file not found" >&2; exit 3; }; head -c $2 -- "$1"',
            path,
            str(MAX_READ_BYTES + 1),
        )
        if code != 0:
            raise SandboxFileError(f"cannot read {path}: {err.decode(errors='replace').strip() or f'exit {code}'}")
        if len(out) > MAX_READ_BYTES:
            raise SandboxFileError(f"{path} is larger than 10 MiB; read a part with exec")
        if is_binary(out):
            raise SandboxFileError(f"{path} is a binary file; it cannot be read as text")
        return out.decode("utf-8")

    async def write_file(self, path: str, content: str) -> None:
        encoded = base64.b64encode(content.encode()).decode()
        chunks = [encoded[i : i + WRITE_CHUNK] for i in range(0, len(encoded), WRITE_CHUNK)] or [""]
        tmp = f"/tmp/.polos-write-{uuid.uuid4().hex}"
        for chunk in chunks:
            code, _, err = await self._sh('printf %s "$2" >> "$1"', tmp, chunk)
            if code != 0:
                raise SandboxFileError(f"cannot write {path}: {err.decode(errors='replace').strip()}")
        code, _, err = await self._sh(
            'if [ -L "$2" ]; then echo "is a symlink" >&2; rm -f "$1"; exit 4; fi; '
            'mkdir -p -- "$(dirname -- "$2")" && base64 -d "$1" > "$2"; rc=$?; rm -f "$1"; exit $rc',
            tmp,
            path,
        )
        if code != 0:
            raise SandboxFileError(f"cannot write {path}: {err.decode(errors='replace').strip() or f'exit {code}'}")

    async def file_exists(self, path: str) -> bool:
        code, _, _ = await self._sh('[ -f "$1" ] && [ ! -L "$1" ]', path)
        return code == 0

    async def glob(self, pattern: str, opts: GlobOptions | None = None) -> list[str]:
        opts = opts or GlobOptions()
        root = self._workdir(opts.cwd)
        code, out, err = await self._sh('cd -- "$1" && find . -type f -not -path "*/.git/*"', root)
        if code != 0:
            raise SandboxFileError(f"glob in {root} failed: {err.decode(errors='replace').strip()}")
        regex = glob_regex(pattern[2:] if pattern.startswith("./") else pattern)
        ignores = [glob_regex(p) for p in opts.ignore or []]
        found = []
        for line in out.decode(errors="replace").splitlines():
            rel = line[2:] if line.startswith("./") else line
            if regex.match(rel) and not any(i.match(rel) or i.match(os.path.basename(rel)) for i in ignores):
                found.append(rel)
        return sorted(found)[:1000]

    async def grep(self, pattern: str, opts: GrepOptions | None = None) -> list[GrepMatch]:
        opts = opts or GrepOptions()
        root = self._workdir(opts.cwd)
        limit = opts.max_results or 100
        includes = " ".join(f"--include={shlex.quote(p)}" for p in opts.include or [])
        code, out, err = await self._sh(
            f'cd -- "$1" && grep -rnIE {includes} -e "$2" . | head -n {int(limit)}', root, pattern
        )
        if code not in (0, 1):
            raise SandboxFileError(f"grep failed: {err.decode(errors='replace').strip()}")
        matches: list[GrepMatch] = []
        for line in out.decode(errors="replace").splitlines():
            rel, _, rest = line.partition(":")
            number, _, text = rest.partition(":")
            if not number.isdigit():
                continue
            matches.append(GrepMatch(path=rel[2:] if rel.startswith("./") else rel, line=int(number), text=text))
        if opts.context_lines:
            await self._add_context(root, matches, opts.context_lines)
        return matches

    async def _add_context(self, root: str, matches: list[GrepMatch], around: int) -> None:
        cache: dict[str, list[str]] = {}
        for index, match in enumerate(matches):
            if match.path not in cache:
                _, out, _ = await self._sh('cd -- "$1" && head -c 5242880 -- "$2"', root, match.path)
                cache[match.path] = out.decode(errors="replace").splitlines()
            lines = cache[match.path]
            lo, hi = max(0, match.line - 1 - around), min(len(lines), match.line + around)
            matches[index] = match.model_copy(update={"context": "\n".join(lines[lo:hi])})

    def __repr__(self) -> str:
        return f"<DockerEnvironment {self.name} image={self.config.image}>"


__all__ = ["DockerEnvironment", "container_name", "docker_client"]
