"""Fixtures of the API tests: projects and keys, a DRF client, a live ASGI server (daphne)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rest_framework.test import APIClient

from polos_django.testing import free_port
from tests.conftest import ROOT, WorkerProcess

# A queue no worker consumes: executions invoked on it stay queued while the shared worker runs.
PARKED = "api-tests-parked"


@dataclass
class Tenant:
    project_id: str
    key: str
    key_id: str


def make_tenant(name: str) -> Tenant:
    from polos_django.keys import create_key
    from polos_django.models import Project

    project = Project.objects.create(name=name)
    row, plaintext = create_key(project, name=f"{name}-key")
    return Tenant(project.pk, plaintext, row.pk)


@pytest.fixture(autouse=True)
def _api_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.api.urls"


@pytest.fixture
def tenant(transactional_db: Any) -> Tenant:
    return make_tenant("alpha")


@pytest.fixture
def other_tenant(transactional_db: Any) -> Tenant:
    return make_tenant("beta")


def api_client(tenant: Tenant | None, project_id: str | None = None) -> APIClient:
    client = APIClient()
    headers = {}
    if tenant is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {tenant.key}"
        headers["HTTP_X_PROJECT_ID"] = project_id or tenant.project_id
    client.credentials(**headers)
    return client


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    return api_client(tenant)


class LiveServer:
    """daphne serving the test project (HTTP + websockets) in a subprocess, on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.gettempdir()) / f"polos-daphne-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> LiveServer:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.api.server_settings", "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "tests.api.asgi:application"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/schema/", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daphne not ready after {timeout} s:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="package")
def _api_worker(django_db_setup: Any, _clean_broker: None) -> Iterator[WorkerProcess]:
    worker = WorkerProcess("api").start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(transactional_db: Any, _api_worker: WorkerProcess) -> WorkerProcess:
    """A Celery worker process for the API tests, stopped after them: tests elsewhere that expect
    executions to stay queued must not find a worker left running by these."""
    if _api_worker.proc is None or _api_worker.proc.poll() is not None:
        _api_worker.start()
    return _api_worker


@pytest.fixture(scope="package")
def _daphne(django_db_setup: Any, _clean_broker: None) -> Iterator[LiveServer]:
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_api(transactional_db: Any, _daphne: LiveServer) -> LiveServer:
    """The live server (its database is the test database: create data with transactional_db)."""
    return _daphne
