"""``Worker``: run workflows, agents and tools of this process on a Polos server's queues.

::

    client = PolosClient(project_id="...")
    worker = Worker(client=client, agents=[coding_agent], tools=list(tools))
    asyncio.run(worker.run())

``run()`` starts a Celery worker inside this process (``solo`` pool: one execution at a time; a
waiting execution holds no slot) connected to the server's database and broker, announces what it
serves so the server's API accepts invocations of it, and serves until cancelled (Ctrl-C).

Where the database and broker come from: an already configured Django (``DJANGO_SETTINGS_MODULE``,
e.g. inside a Django project), else the bundled server settings
(``polos_django.server.settings``), which read ``POLOS_DATABASE_URL`` / ``POLOS_BROKER_URL`` and
otherwise find the local server of ``$POLOS_HOME`` (its SQLite database and broker).

Routing: a served workflow without a queue gets its own, named after its id (Polos' default), so
its executions reach workers that serve it and never a worker that does not know it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Iterable
from typing import Any

from .exceptions import ConfigurationError
from .local import local_settings_path
from .queues import Queue
from .workflow import Workflow, get_all_workflows, get_workflow, register

logger = logging.getLogger("polos.worker")

SERVER_SETTINGS = "polos_django.server.settings"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def _local_server_env() -> dict[str, str]:
    """``POLOS_DATABASE_URL`` / ``POLOS_BROKER_URL`` from ``local.json`` when the server wrote them."""
    try:
        data = json.loads(local_settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    env = {}
    for key, name in (("database_url", "POLOS_DATABASE_URL"), ("broker_url", "POLOS_BROKER_URL")):
        if isinstance(data, dict) and data.get(key):
            env[name] = str(data[key])
    return env


def setup_django() -> None:
    """Configure Django for a worker process (see module docstring); a no-op when already set up."""
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SERVER_SETTINGS)
    if os.environ["DJANGO_SETTINGS_MODULE"] == SERVER_SETTINGS:
        for name, value in _local_server_env().items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("POLOS_ROLE", "worker")
    import django

    django.setup()


def log_to_file(path: str) -> None:
    """Send every log record of this process to ``path`` instead of the console (as Polos does)."""
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _as_workflow(item: Any) -> Workflow:
    wf = get_workflow(item) if isinstance(item, str) else item
    if not isinstance(wf, Workflow):
        raise ConfigurationError(f"Worker serves workflows, agents and tools; got {item!r}")
    if get_workflow(wf.id) is None:
        register(wf)
    return wf


class Worker:
    """Serves workflows from this process (see module docstring).

    Args:
        client: the client of the server (kept for ``Polos`` compatibility; the worker talks to the
            database and broker directly).
        agents, tools, workflows: what to serve; all registered workflows when none is given.
        max_concurrent_workflows: executions run at once (1: the ``solo`` pool; more: ``prefork``
            child processes).
        queues: extra Celery queues to consume.
        log_file: send this process's logs there instead of the console.
        celery_app: the Celery app to use (default: the bundled server's, or one configured from
            the Django settings).
    """

    def __init__(
        self,
        client: Any = None,
        agents: Iterable[Any] | None = None,
        tools: Iterable[Any] | None = None,
        workflows: Iterable[Any] | None = None,
        max_concurrent_workflows: int | None = None,
        deployment_id: str | None = None,
        *,
        queues: Iterable[str] | None = None,
        log_file: str | None = None,
        log_level: str = "WARNING",
        celery_app: Any = None,
        channels: Iterable[Any] | None = None,
        **polos_options: Any,  # mode=, worker_server_url=: Polos' push-mode options, not needed here
    ) -> None:
        items = [*(agents or ()), *(tools or ()), *(workflows or ())]
        self.workflows = [_as_workflow(i) for i in items] if items else list(get_all_workflows().values())
        if not self.workflows:
            raise ConfigurationError("Worker has nothing to serve: pass workflows=, agents= or tools=")
        if max_concurrent_workflows is not None and max_concurrent_workflows < 1:
            raise ConfigurationError("max_concurrent_workflows must be at least 1")
        if channels:
            from .notifiers import register_channels  # called on every suspend this process runs

            register_channels(channels)
        self.client = client
        self.deployment_id = deployment_id
        self.concurrency = max_concurrent_workflows or 1
        self.extra_queues = list(queues or ())
        self.log_file = log_file
        self.log_level = log_level
        if log_file:
            log_to_file(log_file)
        self.hostname = f"polos-worker-{os.getpid()}@{socket.gethostname()}"
        self._celery_app = celery_app
        self._controller: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._finished: asyncio.Future[None] | None = None
        self._announcer: asyncio.Task[None] | None = None
        self._routed: list[Workflow] = []

    def _route(self) -> None:
        # Given back on shutdown: the registry is process-wide and other code may use it afterwards.
        for wf in self.workflows:
            if wf.queue is None:
                wf.queue = Queue(wf.id)
                self._routed.append(wf)

    def _unroute(self) -> None:
        for wf in self._routed:
            wf.queue = None
        self._routed = []

    @property
    def queues(self) -> list[str]:
        """The Celery queues this worker consumes."""
        names = {wf.queue.name if wf.queue is not None else wf.id for wf in self.workflows}
        return sorted(names | set(self.extra_queues))

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until cancelled (Ctrl-C) or until the Celery worker stops."""
        await self.start()
        assert self._finished is not None
        try:
            await asyncio.shield(self._finished)
        finally:
            await self.shutdown()

    async def start(self) -> None:
        """Start serving in the background; returns once the worker consumes its queues."""
        if self._thread is not None:
            return
        setup_django()
        from polos_django import flow

        # The workflows' declared schedules go to the client's project (written on worker_ready).
        flow.declare_in_project(await asyncio.to_thread(flow.project_of_client, self.client))
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._route()
        await asyncio.to_thread(self._announce)
        self._thread = threading.Thread(target=self._serve, args=(loop,), name="polos-worker", daemon=True)
        self._thread.start()
        ready = await asyncio.to_thread(self._wait_ready, STARTUP_TIMEOUT)
        if not ready:
            await self.shutdown()
            raise ConfigurationError(f"the worker did not start within {STARTUP_TIMEOUT:.0f} s: {self._error}")
        self._announcer = asyncio.create_task(self._announce_forever())
        logger.info("worker %s serving %s on queues %s", self.hostname, [w.id for w in self.workflows], self.queues)

    async def shutdown(self) -> None:
        """Stop after the execution in progress (if any) reaches its next step or finishes."""
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
            self._announcer = None
        thread, self._thread = self._thread, None
        if thread is None:
            self._unroute()
            return
        from celery import signals
        from celery.worker import state

        state.should_stop = 0  # read by the consumer loop: a warm shutdown, thread-safe
        signals.worker_shutting_down.send(sender=self.hostname, sig="stop", how="Warm", exitcode=0)
        await asyncio.to_thread(thread.join, STOP_TIMEOUT)
        if thread.is_alive():
            logger.warning("worker %s did not stop within %.0f s", self.hostname, STOP_TIMEOUT)
        state.should_stop = None
        self._unroute()

    stop = shutdown

    # --- internals -----------------------------------------------------------------------------

    def _wait_ready(self, timeout: float) -> bool:
        assert self._thread is not None
        thread = self._thread
        waited = 0.0
        while not self._ready.wait(0.05):
            waited += 0.05
            if not thread.is_alive() or waited >= timeout:
                return False
        return True

    def _announce(self) -> None:
        from polos_django.api import registry

        if not registry.announce(self.workflows, self.hostname):
            logger.warning(
                "could not announce workflows to the server (no Redis configured or reachable): "
                "the API will answer 404 workflow_not_found for %s",
                [w.id for w in self.workflows],
            )

    async def _announce_forever(self) -> None:
        from polos_django.api import registry

        while True:
            await asyncio.sleep(registry.ANNOUNCE_SECONDS)
            await asyncio.to_thread(self._announce)

    def _app(self) -> Any:
        if self._celery_app is not None:
            return self._celery_app
        if os.environ.get("DJANGO_SETTINGS_MODULE") == SERVER_SETTINGS:
            from polos_django.server.celery import app

            return app
        from celery import Celery

        import polos_django.tasks  # noqa: F401  (registers the shared tasks)

        app = Celery("polos-worker")
        app.config_from_object("django.conf:settings", namespace="CELERY")
        return app

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._controller = _controller_class()(
                app=self._app(),
                hostname=self.hostname,
                pool="solo" if self.concurrency == 1 else "prefork",
                concurrency=self.concurrency,
                queues=self.queues,
                loglevel=self.log_level,
                prefetch_multiplier=1,
                optimization="fair",
                without_heartbeat=True,
                without_mingle=True,
                without_gossip=True,
                ready_event=self._ready,
            )
            self._controller.start()
        except BaseException as exc:  # reported by start()/run()
            self._error = exc
            logger.exception("the worker stopped with an error")
        finally:
            from django.db import connections

            connections.close_all()

            def done() -> None:
                if self._finished is not None and not self._finished.done():
                    self._finished.set_result(None)

            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(done)


def _controller_class() -> Any:
    from celery import signals
    from celery.worker import WorkController

    class InProcessWorkController(WorkController):  # type: ignore[misc]
        """A Celery worker that leaves the host process's signals and logging alone."""

        def __init__(self, *args: Any, ready_event: threading.Event, **kwargs: Any) -> None:
            self._ready_event = ready_event
            super().__init__(*args, **kwargs)

        def on_consumer_ready(self, consumer: Any) -> None:
            signals.worker_ready.send(sender=consumer)  # starts the reaper (polos_django.worker_signals)
            self._ready_event.set()

    return InProcessWorkController
