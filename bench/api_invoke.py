"""What the HTTP API adds to invoke -> result: ``PolosClient`` against ``polos server start``.

A real ``polos server start`` (uvicorn + Django; ``--no-worker --no-beat``) on a free port, with a
fresh ``POLOS_HOME`` in a temporary directory, a fresh PostgreSQL database
``polos_bench_api_<hex>`` (``--database-url``; dropped at the end, also after an error) and the
external Redis ``redis://127.0.0.1:6379/15`` (``--broker-url``; flushed at start and end).  The API
key and project come from the server's ``$POLOS_HOME/local.json``.  One worker process,
``python -m bench.api_workflows`` (a ``polos.Worker``, solo pool, like ``worker.py`` of the
journey), serves the 1-step no-op workflow ``bench_api_noop``; the server itself never imports it
(the API routes it through the worker's announcement).

Measured from this process over HTTP:

(a) latency: ``await client.invoke("bench_api_noop", {})`` + ``await client.wait_for_result(id)``
    (two requests), and ``await client.invoke_and_wait("bench_api_noop", {})`` (one request: what
    ``Workflow.run`` does over HTTP)
    (one ``PolosClient``, keep-alive connection; the result is a long poll answered on the Redis
    "done" push), ``--runs`` runs after ``--warmup``; median and p90;
(b) throughput: invokes (``POST .../run`` only) per second from ``--clients`` asyncio tasks with a
    ``PolosClient`` each, for ``--seconds``.  The worker keeps executing the backlog meanwhile.

Baseline, same run, same database, broker and worker: a subprocess configured like the server
(``DJANGO_SETTINGS_MODULE=polos_django.server.settings``, same ``POLOS_HOME`` / database / broker
environment) doing the same in-process: ``polos_django.client.invoke()`` +
``client.wait_for_result()`` (push-based), and invokes per second from as many threads.  It is
one long-lived process driven over stdin/stdout (JSON lines), so HTTP and in-process latency runs
are interleaved in rounds.

Target (issue): HTTP adds no more than ~5 ms to invoke -> result at the median.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polos_django.testing import clean_env as _clean_env
from polos_django.testing import descendants, free_port

from . import common

ROOT = common.ROOT
REDIS_URL = os.environ.get("POLOS_BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/15")
SERVER_SETTINGS = "polos_django.server.settings"
WORKFLOW = "bench_api_noop"
CHILD_PREFIX = "@@ "


# --- processes: the server, the worker --------------------------------------------------------------


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def polos_command() -> list[str]:
    script = Path(sys.executable).with_name("polos")
    return [str(script)] if script.exists() else [sys.executable, "-m", "polos_django.cli"]


class PolosServer:
    """One ``polos server start`` process, output in files next to its ``POLOS_HOME``."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.args = ["--port", str(self.port), *args]
        self.env = env or clean_env(home)
        self.out_path = home.parent / "server.out"
        self.err_path = home.parent / "server.err"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after = 0.0

    def start(self, timeout: float = 60.0) -> PolosServer:
        self.started_at = time.monotonic()
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*polos_command(), "server", "start", *self.args], cwd=ROOT, env=self.env, stdout=out, stderr=err
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"polos server exited with {self.proc.returncode}:\n{self.output()}")
            return "Press Ctrl-C to stop" in self.out_path.read_text(errors="replace")

        common.wait_until(ready, timeout=timeout, interval=0.05, message="the server's ready line")
        self.ready_after = time.monotonic() - self.started_at
        return self

    def output(self, chars: int = 3000) -> str:
        text = ""
        for path in (self.out_path, self.err_path):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")[-chars:]
        return text

    def local(self) -> dict[str, str]:
        return dict(json.loads((self.home / "local.json").read_text()))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def web_pid(self) -> int | None:
        return next((p for p in descendants(self.pid) if "uvicorn" in cmdline(p)), None)

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in descendants(self.proc.pid):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()


class ApiWorker:
    """``python -m bench.api_workflows``: a ``polos.Worker`` serving the benchmark workflows."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ApiWorker:
        ready = self.log_path.with_suffix(".ready")
        env = {**self.env, "POLOS_BENCH_READY_FILE": str(ready)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.api_workflows"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

        def is_ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            return ready.exists()

        common.wait_until(is_ready, timeout=timeout, interval=0.02, message="the worker to consume its queue")
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Stack:
    """A running server (+ worker) and how to reach it."""

    db: str
    home: Path
    server: PolosServer
    database_url: str | None
    worker: ApiWorker | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> dict[str, str]:
        return self.server.local()

    def process_env(self, **extra: str) -> dict[str, str]:
        """The environment of a process configured like the server (its database and broker)."""
        env = {"POLOS_BROKER_URL": REDIS_URL}
        if self.database_url:
            env["POLOS_DATABASE_URL"] = self.database_url
        return clean_env(self.home, **env, **extra)

    def client(self) -> Any:
        from polos import PolosClient

        local = self.local
        return PolosClient(api_url=local["api_url"], api_key=local["api_key"], project_id=local["project_id"])

    def pg_sessions(self, settle: float = 1.1) -> int | None:
        """Sessions ever opened on the PostgreSQL database (>= 14 statistics), else ``None``.

        Waits ``settle`` s first (PostgreSQL flushes session statistics about once a second).  The
        connection this opens counts too: the difference of two calls is one more than the
        sessions opened in between by others.
        """
        if not self.database_url:
            return None
        import psycopg

        time.sleep(settle)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
        return int(row[0]) if row and row[0] is not None else None


@contextlib.contextmanager
def fresh_database(db: str, prefix: str) -> Iterator[str | None]:
    """A new PostgreSQL database (its URL), dropped at the end; ``None`` for SQLite (the server's
    default file in ``POLOS_HOME``)."""
    if db != "postgres":
        yield None
        return
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(common.PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield common.PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(common.PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def server_stack(db: str, db_prefix: str, *server_args: str, worker: bool = True) -> Iterator[Stack]:
    """``polos server start`` on a fresh database and Redis db 15, plus the benchmark worker."""
    import redis

    tmp = Path(tempfile.mkdtemp(prefix="polos-bench-server-"))
    home = tmp / "home"
    stack: Stack | None = None
    try:
        with fresh_database(db, db_prefix) as database_url:
            redis.Redis.from_url(REDIS_URL).flushdb()
            args = ["--broker-url", REDIS_URL, *server_args]
            if database_url:
                args += ["--database-url", database_url]
            server = PolosServer(home, *args)
            stack = Stack(db, home, server, database_url)
            try:
                server.start()
                if worker:
                    stack.worker = ApiWorker(stack.process_env(), tmp / "worker.log").start()
                yield stack
            except BaseException:
                print(server.output(), file=sys.stderr)
                if stack.worker is not None:
                    print(stack.worker.log_tail(), file=sys.stderr)
                raise
            finally:
                if stack.worker is not None:
                    stack.worker.stop()
                server.stop()
                with contextlib.suppress(Exception):
                    redis.Redis.from_url(REDIS_URL).flushdb()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def describe_stack(stack: Stack, label: str) -> None:
    database = (
        f"PostgreSQL {stack.database_url.rsplit('/', 1)[1]}"
        if stack.database_url
        else "SQLite $POLOS_HOME/polos.sqlite3 (server default)"
    )
    common.line(label, f"{database}; broker + live events {REDIS_URL}")
    common.line("server ready after", f"{stack.server.ready_after:.1f} s (port {stack.server.port})")


# --- the in-process baseline (a child process) ----------------------------------------------------


class InProcessChild:
    """``python -m bench.api_invoke --child``: the in-process client, driven with JSON lines."""

    def __init__(self, stack: Stack) -> None:
        self.log_path = stack.home.parent / "child.log"
        env = stack.process_env(DJANGO_SETTINGS_MODULE=SERVER_SETTINGS)
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.api_invoke", "--child", stack.local["project_id"]],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.call({"cmd": "ping"})

    def call(self, request: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        while True:
            text = self.proc.stdout.readline()
            if not text:
                raise RuntimeError(f"the in-process child exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            if text.startswith(CHILD_PREFIX):
                reply = json.loads(text[len(CHILD_PREFIX) :])
                if "error" in reply:
                    raise RuntimeError(f"in-process child: {reply['error']}")
                return reply["result"]

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def child_main(project_id: str) -> None:
    """The child's loop: one JSON request per stdin line, one ``@@ {...}`` reply per request."""
    import django

    django.setup()
    from django.db import connection

    from polos_django import client

    from . import api_workflows  # noqa: F401  (registers the workflows: in-process invoke validates them)

    def latency(runs: int) -> dict[str, list[float]]:
        total, invoke = [], []
        for _ in range(runs):
            started = time.perf_counter()
            handle = client.invoke(WORKFLOW, {}, project_id=project_id)
            invoked = time.perf_counter()
            result = client.wait_for_result(handle.id, timeout=60, project_id=project_id)
            done = time.perf_counter()
            assert result == 1, result
            total.append(done - started)
            invoke.append(invoked - started)
        return {"total": total, "invoke": invoke}

    def throughput(seconds: float, threads: int) -> dict[str, Any]:
        counts = [0] * threads
        ready = threading.Barrier(threads + 1)
        go = threading.Event()
        deadline = [0.0]

        def loop(i: int) -> None:
            client.invoke(WORKFLOW, {}, project_id=project_id)  # connect outside the timed window
            ready.wait()
            go.wait()
            while time.perf_counter() < deadline[0]:
                client.invoke(WORKFLOW, {}, project_id=project_id)
                counts[i] += 1
            connection.close()

        workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
        for t in workers:
            t.start()
        ready.wait()
        cpu0, started = time.process_time(), time.perf_counter()
        deadline[0] = started + seconds
        go.set()
        for t in workers:
            t.join()
        elapsed = time.perf_counter() - started
        return {"count": sum(counts), "elapsed": elapsed, "cpu": time.process_time() - cpu0}

    for text in sys.stdin:
        request = json.loads(text)
        try:
            if request["cmd"] == "quit":
                break
            if request["cmd"] == "ping":
                result: Any = True
            elif request["cmd"] == "latency":
                result = latency(int(request["runs"]))
            elif request["cmd"] == "throughput":
                result = throughput(float(request["seconds"]), int(request["threads"]))
            else:
                raise ValueError(f"unknown command {request['cmd']!r}")
            reply: dict[str, Any] = {"result": result}
        except Exception as exc:  # reported to the parent, which fails
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(CHILD_PREFIX + json.dumps(reply), flush=True)
    from polos_django import live

    live.flush(1.0)


# --- the HTTP side ------------------------------------------------------------------------------


async def http_latency(client: Any, runs: int) -> dict[str, list[float]]:
    total, invoke, one_request = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        handle = await client.invoke(WORKFLOW, {})
        invoked = time.perf_counter()
        result = await client.wait_for_result(handle.id, timeout=60)
        done = time.perf_counter()
        assert result == 1, result
        total.append(done - started)
        invoke.append(invoked - started)
        started = time.perf_counter()
        result = await client.invoke_and_wait(WORKFLOW, {}, timeout=60)  # what Workflow.run does over HTTP
        one_request.append(time.perf_counter() - started)
        assert result == 1, result
    return {"total": total, "invoke": invoke, "run": one_request}


async def http_throughput(stack: Stack, seconds: float, clients: int) -> dict[str, Any]:
    pool = [stack.client() for _ in range(clients)]
    counts = [0] * clients
    try:
        await asyncio.gather(*(c.invoke(WORKFLOW, {}) for c in pool))  # open every connection first
        web = stack.server.web_pid()
        web_cpu0 = cpu_seconds(web) if web else 0.0
        own_cpu0 = time.process_time()
        started = time.perf_counter()
        deadline = started + seconds

        async def one(i: int) -> None:
            while time.perf_counter() < deadline:
                await pool[i].invoke(WORKFLOW, {})
                counts[i] += 1

        await asyncio.gather(*(one(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
        return {
            "count": sum(counts),
            "elapsed": elapsed,
            "web_cpu": (cpu_seconds(web) - web_cpu0) if web else float("nan"),
            "client_cpu": time.process_time() - own_cpu0,
        }
    finally:
        for c in pool:
            await c.aclose()


# --- main -----------------------------------------------------------------------------------------


def _args(parser: Any) -> None:
    parser.set_defaults(db="postgres")
    parser.add_argument("--runs", type=int, default=100, help="measured invoke->result runs of each (default 100)")
    parser.add_argument("--warmup", type=int, default=15, help="warm-up runs of each (default 15)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the runs are split into")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients / threads (default 8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput phase (default 5)")
    parser.add_argument("--child", metavar="PROJECT_ID", help=argparse.SUPPRESS)  # the baseline's process


def main() -> None:
    args = common.parse_args(__doc__, _args)
    if args.child:
        child_main(args.child)
        return
    common.header("api_invoke", args.db)
    with server_stack(args.db, "polos_bench_api", "--no-worker", "--no-beat") as stack:
        run(stack, args)


def run(stack: Stack, args: Any) -> None:
    describe_stack(stack, "server (--no-worker --no-beat)")
    common.line("worker", "python -m bench.api_workflows (polos.Worker, solo pool)")
    loop = asyncio.new_event_loop()
    client = stack.client()
    child = InProcessChild(stack)
    try:
        # warm-up, then interleaved rounds
        loop.run_until_complete(http_latency(client, args.warmup))
        child.call({"cmd": "latency", "runs": args.warmup})
        http: dict[str, list[float]] = {"total": [], "invoke": [], "run": []}
        local: dict[str, list[float]] = {"total": [], "invoke": []}
        per_round = max(1, args.runs // args.rounds)
        done = 0
        while done < args.runs:
            n = min(per_round, args.runs - done)
            for key, values in loop.run_until_complete(http_latency(client, n)).items():
                http[key].extend(values)
            for key, values in child.call({"cmd": "latency", "runs": n}).items():
                local[key].extend(values)
            done += n
        loop.run_until_complete(client.aclose())

        sessions = [stack.pg_sessions(settle=0)]
        http_tput = loop.run_until_complete(http_throughput(stack, args.seconds, args.clients))
        sessions.append(stack.pg_sessions())
        local_tput = child.call({"cmd": "throughput", "seconds": args.seconds, "threads": args.clients})
        sessions.append(stack.pg_sessions())
    finally:
        child.stop()
        loop.close()

    h_med, h_p90 = common.median(http["total"]), common.percentile(http["total"], 90)
    l_med, l_p90 = common.median(local["total"]), common.percentile(local["total"], 90)
    common.line("runs (after warm-up), interleaved", f"{args.runs} of each (after {args.warmup}), {args.rounds} rounds")
    common.line("HTTP: PolosClient invoke + wait_for_result", f"median {common.ms(h_med)}, p90 {common.ms(h_p90)}")
    common.line("baseline: in-process invoke + wait_for_result", f"median {common.ms(l_med)}, p90 {common.ms(l_p90)}")
    common.line(
        "  of which invoke (HTTP / in-process)",
        f"median {common.ms(common.median(http['invoke']))} / {common.ms(common.median(local['invoke']))}",
    )
    diff = h_med - l_med
    common.line("HTTP adds (median difference)", common.ms(diff))
    common.ratio("ratio HTTP / in-process (median)", h_med, l_med)
    r_med, r_p90 = common.median(http["run"]), common.percentile(http["run"], 90)
    common.line(
        "HTTP: one-request run (invoke_and_wait)", f"median {common.ms(r_med)}, p90 {common.ms(r_p90)}  (Workflow.run)"
    )
    run_diff = r_med - l_med
    common.line("HTTP adds, one-request run (median)", common.ms(run_diff))
    common.ratio("ratio one-request run / in-process (median)", r_med, l_med)

    h_rate = http_tput["count"] / http_tput["elapsed"]
    l_rate = local_tput["count"] / local_tput["elapsed"]
    common.line(
        f"HTTP invokes/s, {args.clients} clients (asyncio)",
        f"{h_rate:.0f}/s ({http_tput['count']} in {http_tput['elapsed']:.1f} s)",
    )
    common.line(
        f"baseline: in-process invokes/s, {args.clients} threads",
        f"{l_rate:.0f}/s ({local_tput['count']} in {local_tput['elapsed']:.1f} s)",
    )
    common.ratio("ratio HTTP / in-process (invokes/s)", h_rate, l_rate)
    if http_tput["count"]:
        common.line(
            "  CPU per invoke: web server / HTTP client",
            f"{common.ms(http_tput['web_cpu'] / http_tput['count'])} / "
            f"{common.ms(http_tput['client_cpu'] / http_tput['count'])}",
        )
    if local_tput["count"]:
        common.line("  CPU per invoke: in-process client", common.ms(local_tput["cpu"] / local_tput["count"]))
    s0, s1, s2 = sessions
    if s0 is not None and s1 is not None and s2 is not None:
        http_sessions = s1 - s0 - 1
        local_sessions = s2 - s1 - 1
        common.line(
            "  PG sessions opened (HTTP / in-process)",
            f"{http_sessions} ({http_sessions / max(1, http_tput['count'] + args.clients):.2f} per invoke) / "
            f"{local_sessions} ({local_sessions / max(1, local_tput['count'] + args.clients):.2f} per invoke)",
        )
    common.target("HTTP adds <= 5 ms to invoke -> result (median, two requests)", diff <= 0.005)
    common.target("HTTP adds <= 5 ms to Workflow.run (median, one request)", run_diff <= 0.005)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    return _clean_env(home, ROOT, **extra)


if __name__ == "__main__":
    main()
