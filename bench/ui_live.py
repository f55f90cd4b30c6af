"""The web UI: live timeline latency in a browser, and the executions list with 100,000 executions.

A real ``polos server start`` (``--no-worker --no-beat``, free port, fresh ``POLOS_HOME``; SQLite by
default, ``--db postgres`` for a fresh PostgreSQL database), Redis db 15 as broker and live-event
Redis, and one worker process, ``python -m bench.ui_workflows`` (a ``polos.Worker``, solo pool).

**1. Step finished in a worker -> the browser's DOM shows it.**  A staff user logs in through the
admin login in headless Chromium (Debian's, driven by Playwright) and opens the execution page of
``bench_ui_ticks``.  That workflow runs ``--ticks`` rounds of: wait for an event ``go-{i}``, then a
step ``tick-{i}`` whose function returns ``time.time()``.  This process publishes ``go-{i}``, waits
until the page shows ``Step tick-{i}`` and the workflow waits again, then ``--gap`` seconds, and so
on.  A ``MutationObserver`` in the page records ``performance.timeOrigin + performance.now()`` when
each entry is added.  Latency = DOM time - the step function's return time (one host, one clock):
it covers recording the step, the live publish (trace events are coalesced for up to 20 ms), the
server's Redis doorbell and database read, the UI socket and the page's script.

Baseline, same run: an API websocket client in this process (``ws/executions/{id}/``, the SDK-facing
stream, no browser) receiving the same ``step_finish`` events.

**2. Executions list with 100,000 executions.**  ``--rows`` executions are bulk-inserted (20
workflows, mixed statuses, spread over 30 days); the list page is then requested in-process through
Django's test client (settings of the bundled server, a logged-in staff session; on PostgreSQL
after ``ANALYZE``, as autovacuum does after a bulk insert): the first page,
a page 20 pages deep (keyset cursor), a status filter, a workflow filter and a search.  Server time
= the request's wall time in-process (view, queries and template; no network), median of 10; the
number of SQL queries of each request is printed.  Baseline: the page's row query alone as raw SQL.

Targets (issue): live p50 <= 100 ms; list page <= 300 ms server time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from . import common
from .api_invoke import ROOT, ApiWorker, Stack, describe_stack, polos_command, server_stack
from .event_latency import WsClient

WORKFLOW = "bench_ui_ticks"
USER, PASSWORD = "bench-ui", "bench-ui-password-1"
OBSERVER = """() => {
  window.__arrivals = {};
  new MutationObserver((mutations) => {
    const now = performance.timeOrigin + performance.now();
    for (const m of mutations) for (const node of m.addedNodes) {
      if (node.dataset && node.dataset.type === "step_finish") {
        window.__arrivals[node.querySelector(".title").textContent] = now;
      }
    }
  }).observe(document.getElementById("timeline"), { childList: true });
}"""


class UiWorker(ApiWorker):
    """``python -m bench.ui_workflows``: the worker of ``bench_ui_ticks``."""

    def start(self, timeout: float = 60.0) -> UiWorker:
        ready = self.log_path.with_suffix(".ready")
        env = {**self.env, "POLOS_BENCH_READY_FILE": str(ready)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.ui_workflows"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

        def is_ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            return ready.exists()

        common.wait_until(is_ready, timeout=timeout, interval=0.02, message="the worker to consume its queue")
        return self


class StepClient(WsClient):
    """The API websocket, recording when each ``step_finish`` arrives (by step key)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, float] = {}

    def on_message(self, now: float, payload: bytes) -> None:
        message = json.loads(payload)
        if message.get("type") == "event" and message["event"].get("event_type") == "step_finish":
            self.steps[message["event"]["data"]["step_key"]] = now
        super().on_message(now, payload)


def create_staff_user(stack: Stack) -> None:
    env = stack.process_env(DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    command = [*polos_command(), "manage", "createsuperuser", "--noinput", "--username", USER, "--email", "b@x.test"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


async def wait_status(client: Any, execution_id: str, status: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (await client.get_execution(execution_id))["status"] != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_id} never became {status}")
        await asyncio.sleep(0.005)


async def live_run(stack: Stack, ticks: int, gap: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from polos.types import EventData

    client = stack.client()
    gate = f"bench/ui/{uuid.uuid4().hex[:8]}"
    handle = await client.invoke(WORKFLOW, {"ticks": ticks, "gate": gate})
    base = f"http://127.0.0.1:{stack.server.port}"
    api_ws = StepClient()
    chromium = os.environ.get("POLOS_CHROMIUM", "/usr/bin/chromium")
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            page = await browser.new_page()
            await page.goto(f"{base}/admin/login/?next=/ui/executions/{handle.id}/")
            await page.fill("#id_username", USER)
            await page.fill("#id_password", PASSWORD)
            await page.click("input[type=submit]")
            await page.wait_for_url(f"{base}/ui/executions/{handle.id}/")
            await page.locator("#live[data-state=live]").wait_for()
            await page.evaluate(OBSERVER)
            await api_ws.connect(stack.server.port, handle.id, stack.local["api_key"])
            await asyncio.wait_for(api_ws.first.wait(), 30)
            for i in range(ticks):
                await wait_status(client, handle.id, "waiting")
                await client.publish_events(gate, [EventData(event_type="go", data={"i": i})])
                await page.wait_for_function(f"window.__arrivals['Step tick-{i}'] !== undefined", timeout=30_000)
                await asyncio.sleep(gap)
            finished = await client.wait_for_result(handle.id, timeout=60)
            arrivals = await page.evaluate("window.__arrivals")
            await browser.close()
    finally:
        api_ws.close()
        await client.aclose()
    return {"finished": finished, "dom": arrivals, "api": api_ws.steps}


def live(stack: Stack, ticks: int, gap: float) -> None:
    asyncio.run(live_run(stack, 5, gap))  # warm-up (server, worker, browser caches)
    res = asyncio.run(live_run(stack, ticks, gap))
    dom = [res["dom"][f"Step tick-{i}"] / 1000 - t for i, t in enumerate(res["finished"])]
    api = [res["api"][f"tick-{i}"] - t for i, t in enumerate(res["finished"]) if f"tick-{i}" in res["api"]]
    common.line("steps (measured run) / spacing", f"{ticks} / {gap * 1000:.0f} ms")
    p50 = common.median(dom)
    common.line(
        "browser DOM (execution page, UI socket)",
        f"p50 {common.ms(p50)}, p90 {common.ms(common.percentile(dom, 90))}, max {common.ms(max(dom))}",
    )
    a50 = common.median(api)
    common.line(
        "baseline: API websocket client (no browser)",
        f"p50 {common.ms(a50)}, p90 {common.ms(common.percentile(api, 90))}, max {common.ms(max(api))}",
    )
    common.ratio("ratio browser DOM / API websocket (p50)", p50, a50)
    common.target("step finished -> DOM shows it, p50 <= 100 ms", p50 <= 0.100)


# --- the list page ---------------------------------------------------------------------------------


def list_page_in_child(stack: Stack, rows: int) -> None:
    """Run :func:`list_page` in a child process configured like the server.

    The bundled settings install daphne, whose import commits ``txaio`` to Twisted, while this
    process already uses autobahn on asyncio (the API websocket client).
    """
    env = stack.process_env(DJANGO_SETTINGS_MODULE="polos_django.server.settings")
    command = [sys.executable, "-m", "bench.ui_live", "--list-page-only", "--rows", str(rows)]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def insert_executions(rows: int) -> float:
    from polos_django.models import Execution

    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    statuses = ["completed"] * 90 + ["failed"] * 7 + ["cancelled", "waiting", "queued"]
    started = time.perf_counter()
    batch: list[Any] = []
    for n in range(rows):
        ident = str(uuid.uuid4())
        workflow_id = f"bench_wf_{n % 20}"
        created = now - dt.timedelta(seconds=rng.uniform(0, 30 * 86400))
        status = rng.choice(statuses)
        batch.append(
            Execution(
                id=ident,
                workflow_id=workflow_id,
                status=status,
                root_execution_id=ident,
                root_workflow_id=workflow_id,
                created_at=created,
                started_at=created,
                finished_at=created + dt.timedelta(seconds=1) if status in ("completed", "failed") else None,
                run_seconds=0.5,
                session_id=f"session-{n % 5000}" if n % 3 == 0 else None,
                payload="{}",
            )
        )
        if len(batch) == 5000:
            Execution.objects.bulk_create(batch)
            batch = []
    if batch:
        Execution.objects.bulk_create(batch)
    return time.perf_counter() - started


def time_request(client: Any, path: str, runs: int = 10) -> tuple[float, int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm (template cache, connection)
    times = []
    statements: list[str] = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        statements = [q["sql"] for q in captured.captured_queries]
    return statistics.median(times), len(statements), statements


def list_page(rows: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from polos_django.models import Execution
    from polos_django.ui import queries

    took = insert_executions(rows)
    total = Execution.objects.count()
    common.line("executions in the table", f"{total} (inserted {rows} in {took:.1f} s)")
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk insert; without statistics the planner takes the table
        # for a few rows and sorts all of them (~100 ms) instead of walking the created_at index.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE polos_execution")
        common.line("statistics", "ANALYZE polos_execution (as autovacuum would)")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=USER))

    first, n_first, statements = time_request(client, "/ui/")
    common.line("first page (50 rows)", f"{common.ms(first)} server time, {n_first} SQL queries")
    filters = queries.ExecutionFilters.parse({})
    for _ in range(20):
        filters = queries.ExecutionFilters.parse({"before": queries.execution_page(filters).older})
    assert filters.before is not None
    deep_cursor = f"{filters.before[0].isoformat()}|{filters.before[1]}"
    deep, n_deep, _ = time_request(client, "/ui/?" + _qs({"before": deep_cursor}))
    common.line("21st page (keyset cursor)", f"{common.ms(deep)} server time, {n_deep} SQL queries")
    figures = [first, deep]
    for label, params in (
        ("status=failed", {"status": "failed"}),
        ("workflow=bench_wf_3", {"workflow": "bench_wf_3"}),
        ("search q=wf_1", {"q": "wf_1"}),
        ("status=waiting & workflow", {"status": "waiting", "workflow": "bench_wf_3"}),
    ):
        took, n, _ = time_request(client, "/ui/?" + _qs(params))
        figures.append(took)
        common.line(f"filter {label}", f"{common.ms(took)} server time, {n} SQL queries")

    page_sql = next(sql for sql in statements if "polos_execution" in sql and "LIMIT 51" in sql)
    raw = []
    for _ in range(10):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(page_sql)
            cursor.fetchall()
            raw.append(time.perf_counter() - started)
    baseline = statistics.median(raw)
    common.line("baseline: the first page's row query, raw SQL", common.ms(baseline))
    common.ratio("ratio first page / its row query", first, baseline)
    common.target("executions list with 100,000 executions <= 300 ms server time", max(figures) <= 0.300)


def _qs(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _args(parser: Any) -> None:
    parser.add_argument("--ticks", type=int, default=40, help="steps timed in the live run (default 40)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between two steps (default 0.05)")
    parser.add_argument("--rows", type=int, default=100_000, help="executions for the list page (default 100000)")
    parser.add_argument("--list-page-only", action="store_true", help=argparse_hidden())


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS  # the child process of the list-page part


def main() -> None:
    args = common.parse_args(__doc__, _args)
    if args.list_page_only:
        list_page(args.rows)
        return
    common.header("ui_live", args.db)
    with server_stack(args.db, "polos_bench_ui", "--no-worker", "--no-beat", worker=False) as stack:
        describe_stack(stack, "server (--no-worker --no-beat)")
        worker = UiWorker(stack.process_env(), Path(stack.home).parent / "ui-worker.log").start()
        try:
            common.line("worker", "python -m bench.ui_workflows (polos.Worker, solo pool)")
            create_staff_user(stack)
            live(stack, args.ticks, args.gap)
            list_page_in_child(stack, args.rows)
        except BaseException:
            print(worker.log_tail(), file=sys.stderr)
            raise
        finally:
            worker.stop()


if __name__ == "__main__":
    main()
