"""``polos server start``: run the whole server as supervised child processes.

The supervisor itself stays small (standard library only, no Django: ~12 MiB) and single-threaded:
one ``selectors`` loop reads the children's output, watches their exits and handles signals.
Start-up:

1. take ``$POLOS_HOME/server.lock`` (one server per home) and check the port is free;
2. start the embedded Redis-protocol server unless a broker URL is configured;
3. run ``manage.py polos_bootstrap`` (checks the database and broker, migrates, ensures the
   default project and API key, writes ``local.json``);
4. start the ASGI server (uvicorn), a Celery worker and Celery beat, and wait until they are ready.

Each child runs in its own process group and gets ``PR_SET_PDEATHSIG`` so it dies with the
supervisor even if the supervisor is SIGKILLed.  Stopping sends SIGTERM to each child, waits
``grace`` seconds, then SIGKILLs each child's whole group (taking any grandchild with it).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import runfiles
from .checks import redact

SETTINGS_MODULE = "polos_django.server.settings"
CELERY_APP = "polos_django.server.celery:app"
ASGI_APP = "polos_django.server.asgi:application"
BOOTSTRAP_MARKER = "POLOS_BOOTSTRAP "
TAIL_LINES = 40
# Start-up warnings that say nothing actionable about a local server (Linux' default overcommit
# setting only matters to Redis persistence, which the embedded broker does not use).
_NOISE = ("WARNING Memory overcommit must be enabled",)


class StartError(Exception):
    """Start-up cannot proceed; ``str()`` is the one-line reason, ``exit_code`` the status to exit with."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class ServerOptions:
    home: Path
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None
    broker_url: str | None = None  # None: start the embedded server
    workers: int = 2
    beat: bool = True
    worker: bool = True
    queues: str | None = None
    log_level: str = "warning"
    grace: float = 10.0
    startup_timeout: float = 90.0
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def connect_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else "::1" if self.host == "::" else self.host

    @property
    def api_url(self) -> str:
        host = self.connect_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"


def _pdeathsig_setup() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when the supervisor dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def setup() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)

    return setup


class Child:
    """One supervised process; its output is echoed with a name prefix and its tail kept."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], echo: bool = True) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.echo = echo
        self.proc: subprocess.Popen[bytes] | None = None
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._partial = b""
        self.report_line: str | None = None  # setup's result line
        self.finished = False  # a one-off child that did its job: its exit is expected

    def start(self, preexec: Callable[[], None] | None) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,  # Ctrl-C in the terminal reaches the supervisor only; it stops the rest
            preexec_fn=preexec,
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def feed(self, data: bytes, out: IO[str]) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            self._line(raw.decode("utf-8", "replace").rstrip("\r"), out)

    def flush(self, out: IO[str]) -> None:
        if self._partial:
            self._line(self._partial.decode("utf-8", "replace"), out)
            self._partial = b""

    def _line(self, line: str, out: IO[str]) -> None:
        if any(noise in line for noise in _NOISE):
            return
        if line.startswith(BOOTSTRAP_MARKER):
            self.report_line = line  # holds the plaintext key: never echoed as is
            return
        self.tail.append(line)
        if self.echo:
            out.write(f"{self.name:<6} | {line}\n")
            out.flush()

    def signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill_group(self) -> None:
        """SIGKILL everything left in the child's process group (the child and its descendants)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)


class Supervisor:
    """Runs the server until a signal or a child's death (see module docstring)."""

    def __init__(self, options: ServerOptions, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.o = options
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.children: list[Child] = []
        self.selector = selectors.DefaultSelector()
        self.stop_signal: int | None = None
        self.started = time.monotonic()
        self._preexec = _pdeathsig_setup()
        self._lock_fd: int | None = None
        self._stopping = False
        self._ready = False
        self._phases = ""
        self._ready_file = options.home / "run" / f"worker-ready-{os.getpid()}"

    # -- entry point ------------------------------------------------------------------------

    def run(self) -> int:
        home = self.o.home
        try:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_fd = runfiles.acquire_lock(home)
        except runfiles.AlreadyRunningError as error:
            return self._fail(str(error), 1)
        except OSError as error:
            return self._fail(f"cannot use POLOS_HOME {home}: {error}", 1)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self._check_port()
            self._start()
            return self._supervise()
        except StartError as error:
            return self._fail(str(error), error.exit_code)
        finally:
            self._shutdown()
            runfiles.remove_run_files(home)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(self._lock_fd)

    def _fail(self, message: str, code: int) -> int:
        self.err.write(f"polos: {message}\n")
        self.err.flush()
        return code

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stopping:
            # A second Ctrl-C while stopping: do not wait for the grace period.
            for child in self.children:
                child.kill_group()
        self.stop_signal = signum

    # -- start-up -----------------------------------------------------------------------------

    def _check_port(self) -> None:
        try:
            infos = socket.getaddrinfo(self.o.host, self.o.port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise StartError(f"cannot resolve host {self.o.host!r}: {error}") from None
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # Same option as the HTTP server: a port in TIME_WAIT is free, one with a listener is not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as error:
                if error.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
                    raise StartError(
                        f"port {self.o.port} on {self.o.host} is already in use; stop what listens there "
                        "or choose another port with --port / POLOS_PORT"
                    ) from None
                raise StartError(f"cannot listen on {self.o.host}:{self.o.port}: {error.strerror}") from None

    def _base_env(self) -> dict[str, str]:
        env = {
            **os.environ,
            **self.o.extra_env,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "POLOS_HOME": str(self.o.home),
            "POLOS_HOST": self.o.host,
            "POLOS_PORT": str(self.o.port),
            "PYTHONUNBUFFERED": "1",
        }
        if self.o.database_url:
            env["POLOS_DATABASE_URL"] = self.o.database_url
        return env

    def _start(self) -> None:
        env = self._base_env()
        broker = self.o.broker_url
        broker_label = redact(broker) if broker else ""
        if broker is None:
            broker, broker_label = self._start_embedded_redis(env)
        env["POLOS_BROKER_URL"] = broker
        runfiles.write_run_files(self.o.home, {"api_url": self.o.api_url, "broker_url": broker})
        phase = time.monotonic()
        report = self._bootstrap(env)
        self._phases = f"setup {time.monotonic() - phase:.1f} s"
        phase = time.monotonic()
        self._start_servers(env)
        self._wait_ready()
        self._phases += f", servers {time.monotonic() - phase:.1f} s"
        if self.o.beat:
            # Started last: nothing waits for it, and on a small machine it would compete for CPU
            # with the processes that do.
            self._start_beat(env)
        self._ready = True
        self._banner(report, broker_label)

    def _start_embedded_redis(self, env: dict[str, str]) -> tuple[str, str]:
        from ..embedded_redis import EmbeddedRedis, EmbeddedRedisError

        for _attempt in range(3):
            redis = EmbeddedRedis(run_dir=self.o.home / "run")
            try:
                argv = redis.prepare()
            except EmbeddedRedisError as error:
                raise StartError(str(error)) from None
            child = self._spawn("redis", argv, env)
            deadline = time.monotonic() + 10
            while not redis.ping(timeout=0.2):
                self._pump(0.01)
                self._raise_if_stopping()
                if not child.alive():
                    break  # most likely lost the race for the free port: try another
                if time.monotonic() > deadline:
                    raise StartError(self._died_message(child, "did not answer within 10 s"))
            else:
                assert redis.binary is not None
                return redis.url, f"embedded {redis.binary.name} on {redis.host}:{redis.port}"
            self.children.remove(child)
            self._pump(0)
        raise StartError(self._died_message(child, "could not start"))

    def _bootstrap(self, env: dict[str, str]) -> dict[str, Any]:
        argv = [sys.executable, "-m", "django", "polos_bootstrap", "--api-url", self.o.api_url]
        child = self._spawn("setup", argv, env)
        # Its work is committed once it prints its result: move on without waiting for the
        # interpreter's teardown (atexit handlers can take seconds); it is reaped on shutdown.
        while child.alive() and not child.report_line:
            self._pump(0.05)
            self._raise_if_stopping()
        self._pump(0)
        child.flush(self.out)
        child.finished = True
        code = child.proc.returncode if child.proc is not None else None
        if code == 2:  # an unreachable service: its one-line reason
            line = next((ln for ln in reversed(child.tail) if ln.strip()), "a service is unreachable")
            raise StartError(line.removeprefix("CommandError: "), 2)
        if child.report_line is None:
            raise StartError(self._died_message(child, f"failed with status {code}"))
        for line in child.tail:
            if line.strip():
                self.out.write(f"setup  | {line}\n")  # warnings of the system checks, say
        return dict(json.loads(child.report_line[len(BOOTSTRAP_MARKER) :]))

    def _start_servers(self, env: dict[str, str]) -> None:
        level = self.o.log_level.lower()
        py = sys.executable
        web_env = env  # POLOS_ROLE=web picks the web server's connection policy (server/settings.py)
        # uvicorn with uvloop and httptools: about 2 ms less per request than daphne (Twisted), measured
        # with the same app (docs/architecture.md).  Django has no lifespan protocol, hence "off".
        web = [py, "-m", "uvicorn", ASGI_APP, "--host", self.o.host, "--port", str(self.o.port)]
        web += ["--loop", "auto", "--http", "auto", "--ws", "auto", "--lifespan", "off"]
        web += ["--log-level", {"debug": "debug", "info": "info"}.get(level, "warning")]
        web += ["--timeout-graceful-shutdown", str(max(1, int(self.o.grace) - 1))]  # before the SIGKILL
        if level not in ("debug", "info"):
            web.append("--no-access-log")
        self._spawn("web", web, web_env)
        celery = self._celery()
        if self.o.worker:
            self._ready_file.parent.mkdir(mode=0o700, exist_ok=True)
            self._ready_file.unlink(missing_ok=True)
            worker_env = {**env, "POLOS_WORKER_READY_FILE": str(self._ready_file)}
            argv = [
                *celery,
                "worker",
                "--pool=prefork",
                f"--concurrency={self.o.workers}",
                "-O",
                "fair",
                "--prefetch-multiplier=1",
                f"--hostname=server-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--loglevel={level}",
            ]
            if self.o.queues:
                argv.append(f"--queues={self.o.queues}")
            self._spawn("worker", argv, worker_env)

    def _celery(self) -> list[str]:
        quiet = [] if self.o.log_level.lower() in ("info", "debug") else ["--quiet"]
        return [sys.executable, "-m", "celery", "-A", CELERY_APP, *quiet, "--skip-checks"]

    def _start_beat(self, env: dict[str, str]) -> None:
        scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
        argv = [*self._celery(), "beat", f"--loglevel={self.o.log_level.lower()}", "--scheduler", scheduler]
        self._spawn("beat", argv, env)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.o.startup_timeout
        web_ready = False
        worker_ready = not self.o.worker
        while not (web_ready and worker_ready):
            self._pump(0.05)
            self._raise_if_stopping()
            self._raise_if_child_died()
            web_ready = web_ready or self._http_ok("/api/v1/health")
            worker_ready = worker_ready or self._ready_file.exists()
            if time.monotonic() > deadline:
                waiting = [n for n, ok in (("web", web_ready), ("worker", worker_ready)) if not ok]
                raise StartError(f"{' and '.join(waiting)} not ready after {self.o.startup_timeout:.0f} s")
        if self.o.worker:
            self._ready_file.unlink(missing_ok=True)

    def _http_ok(self, path: str) -> bool:
        try:
            with socket.create_connection((self.o.connect_host, self.o.port), timeout=1) as sock:
                host = self.o.api_url.split("//", 1)[1]
                sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
                status = sock.recv(64)
        except OSError:
            return False
        return status.startswith(b"HTTP/1.") and b" 200 " in status

    def _banner(self, report: dict[str, Any], broker_label: str) -> None:
        local_file = report.get("local_file", "")
        lines = [
            "",
            f"Project ID: {report['project_id']}",
        ]
        if report.get("api_key"):
            lines.append(f"API key:    {report['api_key']}")
            lines.append(f"            (shown once; saved for local clients in {local_file})")
        else:
            lines.append(f"API key:    in {local_file}")
        database = redact(self.o.database_url) if self.o.database_url else f"SQLite {self.o.home / 'polos.sqlite3'}"
        lines += [
            f"API URL:    {self.o.api_url}",
            f"Admin:      {self.o.api_url}/admin/  (create a login: polos manage createsuperuser)",
            f"Database:   {database}",
            f"Broker:     {broker_label}",
            f"Processes:  web (uvicorn){', worker x' + str(self.o.workers) if self.o.worker else ''}"
            f"{', beat' if self.o.beat else ''}",
            "",
            f"Polos server ready in {time.monotonic() - self.started:.1f} s ({self._phases}) at {self.o.api_url}. "
            "Press Ctrl-C to stop.",
        ]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    # -- running ------------------------------------------------------------------------------

    def _supervise(self) -> int:
        while True:
            self._pump(0.5)
            if self.stop_signal is not None:
                return 0
            dead = self._dead_child()
            if dead is not None:
                self.err.write(f"polos: {self._died_message(dead, 'exited unexpectedly')}\n")
                self.err.flush()
                return 1

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        # The broker's log says nothing a user can act on, and setup's output is shown once it is
        # known whether it failed; both are kept for the "died" report.
        child = Child(name, argv, {**env, "POLOS_ROLE": name}, echo=name not in ("redis", "setup"))
        child.start(self._preexec)
        assert child.proc is not None and child.proc.stdout is not None
        self.selector.register(child.proc.stdout, selectors.EVENT_READ, child)
        self.children.append(child)
        return child

    def _pump(self, timeout: float) -> None:
        """Echo whatever the children printed, waiting up to ``timeout`` for something to arrive."""
        if not self.selector.get_map():
            if timeout:
                time.sleep(timeout)
            return
        for key, _ in self.selector.select(timeout):
            child: Child = key.data
            stream = key.fileobj
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                child.feed(data, self.out)
            else:
                self.selector.unregister(stream)
                child.flush(self.out)
                stream.close()  # type: ignore[union-attr]

    def _dead_child(self) -> Child | None:
        return next((c for c in self.children if not c.alive() and not c.finished), None)  # alive() reaps

    def _raise_if_child_died(self) -> None:
        dead = self._dead_child()
        if dead is not None:
            raise StartError(self._died_message(dead, "exited during start-up"))

    def _raise_if_stopping(self) -> None:
        if self.stop_signal is not None:
            raise StartError(f"interrupted by {signal.Signals(self.stop_signal).name}", 130)

    def _died_message(self, child: Child, what: str) -> str:
        self._pump(0.2)  # collect its last words
        code = child.proc.returncode if child.proc is not None else None
        status = f" (status {code})" if code is not None else ""
        tail = list(child.tail)[-20:]
        text = "\n".join(f"  {ln}" for ln in tail) if tail else "  (no output)"
        return f"{child.name} {what}{status}; its last output:\n{text}"

    # -- shutdown -----------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """SIGTERM every child (servers first, the broker last), SIGKILL what outlives the grace."""
        self._stopping = True
        if self._ready and any(c.alive() for c in self.children):
            self.err.write("polos: stopping...\n")
            self.err.flush()
        servers = [c for c in self.children if c.name != "redis"]
        brokers = [c for c in self.children if c.name == "redis"]
        for group in (servers, brokers):
            for child in group:
                child.signal(signal.SIGTERM)
            deadline = time.monotonic() + (self.o.grace if group is servers else 3.0)
            while any(c.alive() for c in group) and time.monotonic() < deadline:
                self._pump(0.05)
            for child in group:
                child.kill_group()  # leftovers, and any grandchild that outlived its parent
                if child.proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.proc.wait(5)
        self._pump(0)
        for child in self.children:
            child.flush(self.out)
        self.selector.close()
