"""Test helpers for projects that run Polos: real Celery worker processes in tests.

    from polos_django.testing import WorkerProcess

    worker = WorkerProcess("myproject.celery_app").start()   # returns once the worker consumes
    handle = client.invoke("send_invoice", {"order": 42})
    assert client.wait_for_result(handle.id, timeout=30) == ...
    worker.kill()    # SIGKILL, as a crash would; worker.start() brings a fresh one up
    worker.stop()

The worker process inherits the test process's environment (so the same settings, database and
broker); it reports readiness through ``POLOS_WORKER_READY_FILE`` (see ``worker_signals``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

READY_FILE_ENV = "POLOS_WORKER_READY_FILE"


class WorkerProcess:
    """One real ``celery -A <app> worker --pool=solo`` process.

    Args:
        app: the Celery app module (``-A``), e.g. ``"myproject.celery_app"``.
        name: a label for the node name and the log file.
        extra_env: environment variables added for this worker.
        queues: the Celery queues to consume (``-Q``); the app's default queue if ``None``.
        cwd: the working directory (put on ``PYTHONPATH`` too); the current one by default.
        pool: the Celery pool (``solo`` runs one execution at a time; ``prefork`` with ``concurrency``
            child processes runs several).
        concurrency: ``-c`` for the pool (``None``: Celery's default).
        loglevel: Celery's ``-l`` for the worker's log file.
    """

    def __init__(
        self,
        app: str,
        name: str = "worker",
        extra_env: dict[str, str] | None = None,
        queues: str | None = None,
        cwd: str | Path | None = None,
        pool: str = "solo",
        concurrency: int | None = None,
        loglevel: str = "warning",
    ) -> None:
        self.app = app
        self.name = name
        self.extra_env = dict(extra_env or {})
        self.queues = queues
        self.cwd = Path(cwd or os.getcwd())
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"polos-worker-{name}-{uuid.uuid4().hex[:6]}.log"
        self.kills = 0
        self.pool = pool
        self.concurrency = concurrency
        self.loglevel = loglevel

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        """Start the process and wait until it consumes its queues (raises with its log if it cannot)."""
        ready = Path(tempfile.gettempdir()) / f"polos-ready-{uuid.uuid4().hex}"
        pythonpath = os.pathsep.join(p for p in (str(self.cwd), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, **self.extra_env, READY_FILE_ENV: str(ready), "PYTHONPATH": pythonpath}
        cmd = [
            sys.executable, "-m", "celery", "-A", self.app, "worker", f"--pool={self.pool}",
            "-n", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", self.loglevel,
        ]  # fmt: skip
        if self.queues:
            cmd += ["-Q", self.queues]
        if self.concurrency is not None:
            cmd += ["-c", str(self.concurrency)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited at start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"worker {self.name} not ready after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.02)
        ready.unlink(missing_ok=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the worker was never started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker (no clean-up of any kind, like a crash) and reap it."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def restart(self) -> None:
        """Kill the worker and start a fresh process."""
        self.kill()
        self.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the worker cleanly (SIGTERM: it finishes its task), SIGKILL after ``timeout``."""
        if self.running:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the worker's output (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def remove_log(self) -> None:
        with contextlib.suppress(OSError):
            self.log_path.unlink()

    def rss_kib(self) -> int:
        """The resident memory of the worker process (Linux)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


# --- helpers for tests that start processes -------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (for servers a test starts)."""
    from .embedded_redis import free_port as _free_port

    return _free_port(host)


def clean_env(home: str | Path, root: str | Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without its Polos/Django/Celery configuration, for a server or
    worker that must configure itself from ``POLOS_HOME`` (plus ``extra``)."""
    drop = ("POLOS_", "DJANGO_", "CELERY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "REDIS_URL"}
    if root is not None:
        env["PYTHONPATH"] = str(root)
    return {**env, "POLOS_HOME": str(home), **extra}


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (Linux, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
