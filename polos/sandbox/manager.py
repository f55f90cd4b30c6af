"""Sandbox lifecycle: which sandbox a tool call uses, when it is created, reused and destroyed.

A sandbox is named after what owns it: its configuration and either the root execution
(``scope="execution"``) or the session id (``scope="session"``). The name is the same in every
worker process, so a tool call that lands on another worker finds the same container and workspace;
nothing another process needs lives only in memory. Each process also records its sandboxes in a
small on-disk index (``<workspaces>/.sandboxes/*.json``; the file's mtime is the last activity) that
the root-finish hook, the idle sweep and the orphan sweep read.

* ``execution`` sandboxes are destroyed when the root execution finishes (a hook in
  :func:`polos.runtime.run_execution`), and by the orphan sweep if that hook never ran (a worker
  killed, a cancel of a waiting execution).
* ``session`` sandboxes are reused by every execution with the same session id and destroyed once
  idle for ``idle_destroy_timeout`` (default ``"1h"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from .environments.base import ExecutionEnvironment
from .errors import SandboxConfigError, SandboxError
from .types import DockerEnvironmentConfig, LocalEnvironmentConfig, SandboxScope, SandboxToolsConfig

logger = logging.getLogger("polos.sandbox")

WORKSPACES_DIR_ENV = "POLOS_WORKSPACES_DIR"
DEFAULT_IDLE_TIMEOUT = "1h"
ORPHAN_GRACE_SECONDS = 600.0
SWEEP_INTERVAL_SECONDS = 60.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> float:
    """``"30m"``, ``"1h"``, ``"3d"`` (also ``"45s"``) -> seconds."""
    match = _DURATION.match(value or "")
    if not match:
        raise SandboxConfigError(f"idle_destroy_timeout must look like '30m', '1h' or '3d', got {value!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def workspaces_dir() -> str:
    """Where auto-provisioned workspaces live (``$POLOS_WORKSPACES_DIR`` or ``~/.polos/workspaces``)."""
    return os.environ.get(WORKSPACES_DIR_ENV) or os.path.join(os.path.expanduser("~"), ".polos", "workspaces")


def index_dir() -> str:
    return os.path.join(workspaces_dir(), ".sandboxes")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def sandbox_id_for(config_name: str, scope: SandboxScope, owner: str, project_id: str) -> str:
    """The stable id of the sandbox a configuration uses for one root execution or session."""
    prefix = "x" if scope == "execution" else "s"
    safe = re.sub(r"[^a-z0-9-]", "-", config_name.lower())[:24]
    return f"{prefix}-{safe}-{_digest(project_id, scope, owner)}"


@dataclass
class SandboxRecord:
    """A sandbox as written in the on-disk index."""

    id: str
    scope: str
    env: str
    project_id: str
    owner: str  # the root execution id, or the session id
    workspace: str | None
    auto_workspace: bool
    container: str | None
    idle_timeout: float
    worker: str
    created_at: float

    @property
    def path(self) -> str:
        return os.path.join(index_dir(), f"{self.id}.json")

    def save(self) -> None:
        os.makedirs(index_dir(), exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(asdict(self), f)
        os.replace(tmp, self.path)

    def touch(self) -> None:
        with contextlib.suppress(OSError):
            os.utime(self.path)

    def idle_seconds(self) -> float:
        try:
            return time.time() - os.path.getmtime(self.path)
        except OSError:
            return 0.0

    @classmethod
    def load(cls, path: str) -> SandboxRecord | None:
        try:
            with open(path) as f:
                return cls(**json.load(f))
        except (OSError, ValueError, TypeError):
            return None


class ManagedSandbox:
    """One sandbox: an environment created lazily on first use, health-checked, recreated if dead.

    Args:
        config: the sandbox tools configuration it was made for.
        sandbox_id: its stable id (see :func:`sandbox_id_for`).
        owner: the root execution id (``execution`` scope) or the session id (``session`` scope).
        project_id: the project the executions belong to.
    """

    def __init__(self, config: SandboxToolsConfig, sandbox_id: str, owner: str, project_id: str) -> None:
        self.config = config
        self.id = sandbox_id
        self.scope: SandboxScope = config.scope or "execution"
        self.owner = owner
        self.project_id = project_id
        self.session_id = owner if self.scope == "session" else None
        self.idle_timeout = parse_duration(config.idle_destroy_timeout or DEFAULT_IDLE_TIMEOUT)
        self.destroyed = False
        self._env: ExecutionEnvironment | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.record: SandboxRecord | None = None

    @property
    def env_type(self) -> str:
        return self.config.env or "docker"

    @property
    def initialized(self) -> bool:
        return self._env is not None

    @property
    def last_activity_at(self) -> float | None:
        """When a tool last used the sandbox (epoch seconds, from the on-disk index)."""
        try:
            return os.path.getmtime(os.path.join(index_dir(), f"{self.id}.json"))
        except OSError:
            return None

    async def recreate(self) -> None:
        """Replace the environment with a fresh one on next use (the workspace is kept)."""
        env, self._env = self._env, None
        if env is not None:
            with contextlib.suppress(Exception):
                await env.destroy()
        self.destroyed = False

    def labels(self) -> dict[str, str]:
        """Docker labels: who owns the container, for the orphan sweeper."""
        labels = {
            "polos.managed": "true",
            "polos.sandbox-id": self.id,
            "polos.scope": self.scope,
            "polos.project-id": self.project_id,
            "polos.worker-id": worker_id(),
            "polos.idle-timeout": str(int(self.idle_timeout)),
        }
        labels["polos.session-id" if self.scope == "session" else "polos.root-execution-id"] = self.owner
        return labels

    def _lock_for_loop(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def get_environment(self) -> ExecutionEnvironment:
        """The environment, created on first use; a dead container is replaced by a new one."""
        if self.destroyed:
            raise SandboxError(f"sandbox {self.id} was destroyed (its execution or session ended)")
        async with self._lock_for_loop():
            if self._env is not None and not await self._env.is_alive():
                logger.warning("sandbox %s: its environment died; recreating it", self.id)
                self._env = None
            if self._env is None:
                self._env = await self._create()
        if self.record is not None:
            self.record.touch()
        return self._env

    def _workspace(self, configured: str | None) -> tuple[str, bool]:
        if configured:
            return os.path.realpath(configured), False
        return os.path.join(workspaces_dir(), self.project_id, self.id), True

    async def _create(self) -> ExecutionEnvironment:
        config = self.config
        max_chars = config.exec.max_output_chars if config.exec else None
        env: ExecutionEnvironment
        container = None
        if self.env_type == "docker":
            from .environments.docker import DockerEnvironment, container_name

            docker_config = config.docker or DockerEnvironmentConfig()
            workspace, auto = self._workspace(docker_config.workspace_dir)
            docker_config = docker_config.model_copy(update={"workspace_dir": workspace})
            env = DockerEnvironment(docker_config, max_chars, sandbox_id=self.id)
            container = container_name(self.id)
        elif self.env_type == "local":
            from .environments.local import LocalEnvironment

            local_config = config.local or LocalEnvironmentConfig()
            workspace, auto = self._workspace(config.cwd or local_config.cwd)
            os.makedirs(workspace, exist_ok=True)
            local_config = local_config.model_copy(update={"cwd": workspace})
            env = LocalEnvironment(local_config, max_chars)
        elif self.env_type == "e2b":
            from .environments.e2b import E2BEnvironment

            env = E2BEnvironment(config.e2b, max_chars)
            workspace, auto = None, False
        else:  # pragma: no cover - pydantic restricts env
            raise SandboxConfigError(f"unknown sandbox env {self.env_type!r}")
        self.record = SandboxRecord(
            id=self.id,
            scope=self.scope,
            env=self.env_type,
            project_id=self.project_id,
            owner=self.owner,
            workspace=workspace,
            auto_workspace=auto,
            container=container,
            idle_timeout=self.idle_timeout,
            worker=worker_id(),
            created_at=time.time(),
        )
        # Written before the container exists, so a crash in between still leaves a trace to sweep.
        self.record.save()
        await env.initialize(self.labels())
        return env

    async def destroy(self) -> None:
        """Tear the environment down and forget the sandbox (idempotent)."""
        self.destroyed = True
        env, self._env = self._env, None
        if env is not None:
            with contextlib.suppress(Exception):
                await env.destroy()
        record = self.record or SandboxRecord.load(os.path.join(index_dir(), f"{self.id}.json"))
        if record is not None:
            await asyncio.to_thread(destroy_record, record)

    def __repr__(self) -> str:
        return f"<ManagedSandbox {self.id} {self.env_type} scope={self.scope}>"


def destroy_record(record: SandboxRecord) -> None:
    """Remove what an index record points at: the container, an auto-provisioned workspace, the record."""
    if record.container:
        _remove_container(record.container)
    if record.auto_workspace and record.workspace and os.path.isdir(record.workspace):
        shutil.rmtree(record.workspace, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.unlink(record.path)


def _remove_container(name: str) -> None:
    try:
        import docker
        import docker.errors
    except ImportError:
        return
    try:
        client = docker.from_env(timeout=30)
        client.containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass
    except Exception as exc:  # the engine is gone: the orphan sweep retries later
        logger.warning("could not remove sandbox container %s: %s", name, exc)


class SandboxManager:
    """Finds or creates the sandbox of a tool call, and cleans up after executions and sessions.

    One manager per process (:func:`get_sandbox_manager`); its in-memory map is only a cache of
    environment objects, the sandboxes themselves are found by name.
    """

    def __init__(self) -> None:
        self._sandboxes: dict[str, ManagedSandbox] = {}
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._last_orphan_sweep = 0.0

    def get_or_create_sandbox(
        self,
        config: SandboxToolsConfig,
        config_name: str,
        root_execution_id: str,
        session_id: str | None,
        project_id: str = "default",
    ) -> ManagedSandbox:
        """The sandbox for this configuration and root execution (or session)."""
        scope: SandboxScope = config.scope or "execution"
        if scope == "session":
            if not session_id:
                raise SandboxConfigError(
                    "a session-scoped sandbox needs a session id: invoke the agent with session_id='...', "
                    "or use scope='execution'"
                )
            owner = session_id
        else:
            owner = root_execution_id
        sandbox_id = sandbox_id_for(config_name, scope, owner, project_id)
        with self._lock:
            sandbox = self._sandboxes.get(sandbox_id)
            if sandbox is None or sandbox.destroyed:
                sandbox = ManagedSandbox(config, sandbox_id, owner, project_id)
                self._sandboxes[sandbox_id] = sandbox
            if scope == "session":
                self._start_sweeper()
        return sandbox

    def get_sandbox(self, sandbox_id: str) -> ManagedSandbox | None:
        """A sandbox this process has used, by id."""
        return self._sandboxes.get(sandbox_id)

    def forget(self, sandbox_id: str) -> None:
        with self._lock:
            self._sandboxes.pop(sandbox_id, None)

    # --- cleanup -----------------------------------------------------------------------------------

    async def on_root_finished(self, root_execution_id: str, project_id: str = "default") -> int:
        """Destroy the execution-scoped sandboxes of a finished root execution; returns how many."""
        count = 0
        for record in list_records():
            if record.scope == "execution" and record.owner == root_execution_id:
                sandbox = self._sandboxes.get(record.id)
                if sandbox is not None:
                    sandbox.destroyed = True
                    sandbox._env = None
                    self.forget(record.id)
                await asyncio.to_thread(destroy_record, record)
                count += 1
        return count

    def sweep_idle(self) -> int:
        """Destroy sandboxes idle past their ``idle_destroy_timeout``; returns how many."""
        count = 0
        for record in list_records():
            if record.idle_seconds() > record.idle_timeout:
                logger.info("destroying sandbox %s: idle for more than %d s", record.id, record.idle_timeout)
                sandbox = self._sandboxes.get(record.id)
                if sandbox is not None:
                    sandbox.destroyed = True
                    sandbox._env = None
                    self.forget(record.id)
                destroy_record(record)
                count += 1
        return count

    def sweep_orphans(self, is_finished: Any = None, grace_seconds: float = ORPHAN_GRACE_SECONDS) -> list[str]:
        """Remove sandbox containers whose owner is gone; returns their names.

        A container is an orphan when its root execution has finished (``is_finished(id)``, given a
        store), when its session sandbox was idle past its timeout, or when the worker that created
        it on this host is dead and nobody used it for ``grace_seconds``.
        """
        try:
            import docker
        except ImportError:
            return []
        try:
            client = docker.from_env(timeout=30)
            # The low-level listing: the high-level one inspects each container and fails on one
            # removed in between.
            containers = client.api.containers(all=True, filters={"label": "polos.managed=true"})
        except Exception:
            return []
        known = {r.container: r for r in list_records() if r.container}
        host = socket.gethostname()
        removed = []
        for container in containers:
            labels = container.get("Labels") or {}
            name = (container.get("Names") or ["/?"])[0].lstrip("/")
            record = known.get(name)
            root = labels.get("polos.root-execution-id")
            idle = record.idle_seconds() if record else None
            orphan = False
            if root and is_finished is not None:
                with contextlib.suppress(Exception):
                    orphan = bool(is_finished(root))
            if not orphan and labels.get("polos.scope") == "session" and idle is not None:
                orphan = idle > float(labels.get("polos.idle-timeout") or 3600)
            if not orphan:
                owner_host, _, pid = (labels.get("polos.worker-id") or "").rpartition(":")
                if owner_host == host and pid.isdigit() and not _pid_alive(int(pid)):
                    age = idle if idle is not None else time.time() - float(container.get("Created") or 0)
                    orphan = age > grace_seconds
            if orphan:
                with contextlib.suppress(Exception):
                    client.api.remove_container(container["Id"], force=True)
                    removed.append(name)
                if record is not None:
                    destroy_record(record)
        return removed

    def sweep_due(self) -> bool:
        """Whether the idle and orphan sweeps are due in this process (at most once a minute)."""
        now = time.monotonic()
        if now - self._last_orphan_sweep < SWEEP_INTERVAL_SECONDS:
            return False
        self._last_orphan_sweep = now
        return True

    def _start_sweeper(self) -> None:
        if self._sweeper is not None and self._sweeper.is_alive():
            return

        def loop() -> None:
            while True:
                time.sleep(min(SWEEP_INTERVAL_SECONDS, _smallest_idle_timeout() / 4))
                with contextlib.suppress(Exception):
                    self.sweep_idle()

        self._sweeper = threading.Thread(target=loop, name="polos-sandbox-sweeper", daemon=True)
        self._sweeper.start()

    async def destroy_all(self) -> None:
        """Destroy every sandbox this process holds (worker shutdown, tests)."""
        for sandbox in list(self._sandboxes.values()):
            await sandbox.destroy()
        self._sandboxes.clear()


def list_records() -> list[SandboxRecord]:
    """Every sandbox in this machine's index."""
    directory = index_dir()
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    records = []
    for name in names:
        if name.endswith(".json"):
            record = SandboxRecord.load(os.path.join(directory, name))
            if record is not None:
                records.append(record)
    return records


def _smallest_idle_timeout() -> float:
    timeouts = [r.idle_timeout for r in list_records() if r.scope == "session"]
    return max(1.0, min(timeouts, default=3600.0))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_manager: SandboxManager | None = None
_manager_pid = 0


def get_sandbox_manager() -> SandboxManager:
    """The sandbox manager of this process (a forked worker gets its own)."""
    global _manager, _manager_pid
    if _manager is None or _manager_pid != os.getpid():
        _manager, _manager_pid = SandboxManager(), os.getpid()
    return _manager


def _container_roots() -> list[str]:
    """The root execution ids named by sandbox containers on the engine (none without docker)."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        found = client.api.containers(all=True, filters={"label": "polos.managed=true"})
    except Exception:
        return []
    return [c["Labels"]["polos.root-execution-id"] for c in found if "polos.root-execution-id" in (c["Labels"] or {})]


async def _on_root_finished(store: Any, record: Any, outcome: str) -> None:
    from ..store import FINISHED_STATUSES

    manager = get_sandbox_manager()
    await manager.on_root_finished(record.id, getattr(record, "project_id", "default"))
    if not manager.sweep_due():
        return
    # The store is asked on this thread (database connections belong to their thread); the engine
    # and the file system are asked on worker threads.
    finished = set()
    for root in await asyncio.to_thread(_container_roots):
        found = store.get_execution(root)
        if found is not None and found.status in FINISHED_STATUSES:  # unknown ids: another store's
            finished.add(root)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(manager.sweep_idle)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(manager.sweep_orphans, finished.__contains__)


def install_root_finish_hook() -> None:
    """Register the cleanup of execution-scoped sandboxes with the runtime (once per process)."""
    from .. import runtime

    hooks = runtime.ROOT_FINISH_HOOKS
    if _on_root_finished not in hooks:
        hooks.append(_on_root_finished)


__all__ = [
    "ManagedSandbox",
    "SandboxManager",
    "SandboxRecord",
    "destroy_record",
    "get_sandbox_manager",
    "install_root_finish_hook",
    "list_records",
    "parse_duration",
    "sandbox_id_for",
    "workspaces_dir",
]
