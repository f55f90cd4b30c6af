"""Run the approval page example against a running server: ``python -m examples.approvals_page.main``.

Start ``polos server start`` first. This script starts the deploy with an in-process worker
(``Polos``), prints the approval link of its suspend, and waits: open the link in a browser or on
your phone, fill the form, and the script prints the result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from polos import events

from .workflows import deploy

STEP = "approve-deploy"


async def main(client: Any, respond: Callable[[str], Any] | None = None, **payload: Any) -> dict[str, Any]:
    """Start a deploy, hand its approval link to ``respond`` (a person, or a test), return the result.

    ``respond(link)`` runs in a thread (it may block, e.g. drive a browser); ``None`` prints the link
    and waits for someone to answer it.
    """
    handle = await deploy.invoke(client, {"service": "web", "version": "2.4.1", **payload})
    link = None
    async for event in events.stream_workflow(client, handle.root_workflow_id, handle.id):
        if event.event_type == f"suspend_{STEP}" and link is None:
            link = event.data["_approval_url"]
            print(f"Waiting for an answer: {link}", flush=True)
            if respond is not None:
                await asyncio.to_thread(respond, link)
    execution = await client.get_execution(handle.id)
    return {"status": execution["status"], "result": execution.get("result"), "link": link}


if __name__ == "__main__":

    async def run() -> None:
        from polos import Polos

        async with Polos() as polos:  # the API URL and key of the local server, and a worker
            print(json.dumps(await main(polos), indent=2))

    asyncio.run(run())
