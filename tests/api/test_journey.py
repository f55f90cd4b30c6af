"""API.md's canonical journey with real processes: ``polos server start``, ``python worker.py``,
``python main.py`` — the worker's workflow is unknown to the server process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.e2e.test_server_start import Server, clean_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

JOURNEY = Path(__file__).resolve().parent / "journey"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("polos-home")
    started = Server(home, env=clean_env(home)).start()
    started.wait_ready()
    yield started
    started.stop()


def test_server_worker_main(server: Server) -> None:
    project_id = server.local()["project_id"]
    env = {**clean_env(server.home), "PYTHONPATH": f"{JOURNEY}:{clean_env(server.home)['PYTHONPATH']}"}
    log = (server.home.parent / "worker.out").open("wb")
    worker = subprocess.Popen([sys.executable, "worker.py", project_id], cwd=JOURNEY, env=env, stdout=log, stderr=log)
    try:
        # The worker announces its workflow once it consumes its queue; then the API accepts it.
        def announced() -> bool:
            assert worker.poll() is None, (server.home.parent / "worker.out").read_text()
            listed = subprocess.run(
                [sys.executable, "-c", "import asyncio, polos; print([w['id'] for w in asyncio.run("
                 "polos.PolosClient().list_workflows())])"],
                cwd=JOURNEY, env=env, capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            return "journey_review" in listed.stdout

        wait_until(announced, timeout=60, interval=0.5, message="the worker's announcement")
        done = subprocess.run(
            [sys.executable, "main.py", project_id], cwd=JOURNEY, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["status"] == "completed"
        assert out["result"] == {"published": True, "draft": "draft of durable agents"}
        assert out["events"][0] == "workflow_start" and out["events"][-1] == "workflow_finish"
        assert "suspend_approve" in out["events"] and "resume_approve" in out["events"]
    finally:
        worker.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            pytest.fail("worker.py did not stop on Ctrl-C within 20 s")
