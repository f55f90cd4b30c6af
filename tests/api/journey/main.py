"""``python main.py <project_id>``: invoke, stream, approve, print the result as JSON (terminal 3)."""

from __future__ import annotations

import asyncio
import json
import sys

from polos import PolosClient
from polos.features import events


async def main() -> None:
    client = PolosClient(project_id=sys.argv[1])
    handle = await client.invoke("journey_review", {"topic": "durable agents"})
    seen = []
    async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
        seen.append(event.event_type)
        if event.event_type and event.event_type.startswith("suspend_"):
            step_key = event.event_type[len("suspend_") :]
            context = event.data.get("_form", {}).get("context", {})
            await client.resume(handle.root_workflow_id, handle.id, step_key, {"approved": bool(context["draft"])})
    execution = await client.get_execution(handle.id)
    print(json.dumps({"events": seen, "status": execution["status"], "result": execution.get("result")}))


asyncio.run(main())
