"""Run the local sandbox example: ``python -m examples.sandbox_local.main`` (in memory).

The agent writes hello.js and runs it; every write and command stops for approval, and this script
approves each one after printing what it is (``context["command"]`` for exec), like the canonical
journey's main.py does with a live event stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from typing import Any

from polos.testing import LocalRuntime


async def main(runtime: LocalRuntime | None = None) -> dict[str, Any]:
    from .agents import coding_agent

    runtime = runtime or LocalRuntime()
    agent = coding_agent()
    handle = await agent.invoke(runtime.client, {"input": "Create hello.js that prints a greeting and run it."})
    approvals: list[dict[str, Any]] = []
    cursor = 0
    while True:
        await runtime.run_until_idle()
        execution = await runtime.client.get_execution(handle.id)
        if execution["status"] in ("completed", "failed", "cancelled"):
            break
        for event in runtime.store.list_events(handle.topic, after=cursor):
            cursor = event.sequence_id
            if event.event_type and event.event_type.startswith("suspend_"):
                form = event.data["_form"]
                approvals.append({"source": event.data["_source"], "context": form["context"]})
                print(f"approving {event.data['_source']}: {json.dumps(form['context'])[:120]}")
                step_key = event.event_type[len("suspend_") :]
                await runtime.client.resume(handle.root_workflow_id, handle.id, step_key, {"approved": True})
    return {"status": execution["status"], "result": execution["result"], "approvals": approvals}


if __name__ == "__main__":
    os.environ.setdefault("SANDBOX_LOCAL_WORKSPACE", tempfile.mkdtemp(prefix="polos-workspace-"))
    outcome = asyncio.run(main())
    print(json.dumps(outcome["result"]["result"]))
