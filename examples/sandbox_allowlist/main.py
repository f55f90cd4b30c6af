"""Run the allowlist example: ``python -m examples.sandbox_allowlist.main`` (in memory).

``ls -la`` and ``node --version`` match the allowlist and run at once; ``ls; rm -rf build`` chains
a second command, so it stops for approval, and this script rejects it with feedback that goes
back to the model as the tool's (error) result.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from typing import Any

from polos.testing import LocalRuntime


async def main(runtime: LocalRuntime | None = None) -> dict[str, Any]:
    from .agents import ops_agent

    runtime = runtime or LocalRuntime()
    handle = await ops_agent().invoke(runtime.client, {"input": "Tidy up the workspace."})
    asked: list[str] = []
    cursor = 0
    while True:
        await runtime.run_until_idle()
        execution = await runtime.client.get_execution(handle.id)
        if execution["status"] in ("completed", "failed", "cancelled"):
            break
        for event in runtime.store.list_events(handle.topic, after=cursor):
            cursor = event.sequence_id
            if event.event_type and event.event_type.startswith("suspend_"):
                command = event.data["_form"]["context"]["command"]
                asked.append(command)
                print(f"rejecting: {command}")
                answer = {"approved": False, "feedback": "Do not delete build/; it holds the release."}
                await runtime.client.resume(handle.root_workflow_id, handle.id, event.event_type[8:], answer)
    ran = [
        r["result"] if r["result"] is not None else {"error": r["error"]} for r in execution["result"]["tool_results"]
    ]
    return {"status": execution["status"], "asked": asked, "tool_results": ran, "answer": execution["result"]["result"]}


if __name__ == "__main__":
    os.environ.setdefault("SANDBOX_ALLOWLIST_WORKSPACE", tempfile.mkdtemp(prefix="polos-workspace-"))
    outcome = asyncio.run(main())
    print(json.dumps({"asked": outcome["asked"], "answer": outcome["answer"]}, indent=2))
