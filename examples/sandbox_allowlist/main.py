"""Run the allowlist example: ``python -m examples.sandbox_allowlist.main`` (in memory).

``ls -la`` and ``node --version`` match the allowlist and run at once; ``ls; rm -rf build`` chains
a second command, so it stops for approval, and this script rejects it with feedback that goes
back to the model as the tool's (error) result.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from ..sandbox_support import run_answering
from .workflows import sandbox_allowlist_ops


def reject(data: dict[str, Any]) -> dict[str, Any]:
    print(f"rejecting: {data['_form']['context']['command']}")
    return {"approved": False, "feedback": "Do not delete build/; it holds the release."}


async def main(client: Any) -> dict[str, Any]:
    handle = await sandbox_allowlist_ops.invoke(client, {"input": "Tidy up the workspace."})
    execution, forms = await run_answering(client, handle, reject)
    results = execution["result"]["tool_results"]
    return {
        "status": execution["status"],
        "asked": [f["_form"]["context"]["command"] for f in forms],
        "tool_results": [r["result"] if r["result"] is not None else {"error": r["error"]} for r in results],
        "answer": execution["result"]["result"],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(LocalRuntime().client)), indent=2))
