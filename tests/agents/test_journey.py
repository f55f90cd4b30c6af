"""The canonical user journey of API.md, verbatim, against ``polos server start``.

Three processes as a user would run them: the server (``polos server start``), ``python worker.py``
and ``python main.py``, with the Anthropic client of the worker pointed at the fake LLM server
(``ANTHROPIC_BASE_URL``).  The agent asks to write ``hello.js`` and to exec it; ``main.py`` approves
each suspend from the event stream; the file is written and run; the result comes back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from polos.testing import FakeLLMServer, Reply
from polos_django.testing import clean_env
from tests.conftest import wait_until
from tests.e2e.test_server_start import Server

pytestmark = [pytest.mark.once, pytest.mark.slow, pytest.mark.timeout(240)]

HELLO = "console.log('Hello from Polos');"

AGENTS = """\
# agents.py
from polos import Agent, sandbox_tools, SandboxToolsConfig, LocalEnvironmentConfig
tools = sandbox_tools(SandboxToolsConfig(env="local",
        local=LocalEnvironmentConfig(cwd="./workspace", path_restriction="./workspace")))
coding_agent = Agent(id="coding_agent", provider="anthropic", model="claude-sonnet-4-5",
        system_prompt="You are a coding agent. Your workspace is at ./workspace.", tools=tools)
"""

WORKER = """\
# worker.py
import asyncio
import sys

from polos import PolosClient, Worker
from agents import coding_agent, tools

client = PolosClient(project_id=sys.argv[1])            # api_url / api_key from args or POLOS_* env
worker = Worker(client=client, agents=[coding_agent], tools=list(tools))
asyncio.run(worker.run())
"""

MAIN = """\
# main.py
import asyncio
import json
import sys

from polos import PolosClient
from polos.features import events
from agents import coding_agent


async def main():
    client = PolosClient(project_id=sys.argv[1])
    handle = await client.invoke(coding_agent.id, {"input": "Create hello.js ... and run it.", "streaming": True})
    commands = []
    async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
        if event.event_type and event.event_type.startswith("suspend_"):
            step_key = event.event_type[len("suspend_"):]
            form = event.data.get("_form", {}); context = form.get("context", {})   # context["command"] for exec
            commands.append(context.get("command"))
            await client.resume(handle.root_workflow_id, handle.id, step_key, {"approved": True})
    execution = await client.get_execution(handle.id)
    print(json.dumps({"result": execution.get("result"), "status": execution.get("status"), "commands": commands}))


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("journey")
    (base / "workspace").mkdir()
    (base / "agents.py").write_text(AGENTS)
    (base / "worker.py").write_text(WORKER)
    (base / "main.py").write_text(MAIN)
    return base


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("journey-home")
    started = Server(home).start()
    started.wait_ready()
    yield started
    started.stop()


def announced(server: Server, workflow_id: str) -> bool:
    local = server.local()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/v1/workflows",
        headers={"Authorization": f"Bearer {local['api_key']}", "X-Project-ID": local["project_id"]},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return workflow_id in json.dumps(json.load(response))


def test_canonical_journey(server: Server, project: Path) -> None:
    script = [
        Reply(text="Writing hello.js.", tool_calls=[("write", {"path": "hello.js", "content": HELLO})]),
        Reply(text="Running it.", tool_calls=[("exec", {"command": "node hello.js"})]),
        Reply(text="Done: hello.js printed 'Hello from Polos'."),
    ]
    project_id = server.local()["project_id"]
    with FakeLLMServer(script) as llm:
        worker_log = (project / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "worker.py", project_id],
            cwd=project,
            env=clean_env(server.home, **llm.env()),
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: announced(server, "coding_agent"), timeout=90, interval=0.2, message="worker.py")
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "main.py", project_id],
                cwd=project,
                env=clean_env(server.home),
                capture_output=True,
                text=True,
                timeout=180,
            )
            elapsed = time.monotonic() - started
        finally:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
            worker_log.close()
        log = (project / "worker.log").read_text(errors="replace")
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- worker.py ---\n{log[-3000:]}"
        output = json.loads(done.stdout.strip().splitlines()[-1])
        exec_result = llm.requests[-1].tool_results[-1]["content"]
        assert llm.count() == 3  # one request per model turn: nothing was asked twice

    assert output["status"] == "completed", output
    assert output["result"]["result"] == "Done: hello.js printed 'Hello from Polos'."
    assert "node hello.js" in output["commands"]  # the exec approval showed the command
    assert (project / "workspace" / "hello.js").read_text() == HELLO
    assert "Hello from Polos" in exec_result
    print(f"\ncanonical journey: main.py finished in {elapsed:.1f} s")
