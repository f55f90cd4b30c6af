"""Run the local sandbox example: ``python -m examples.sandbox_local.main`` (in memory).

The agent writes hello.js and runs it; the write and the command each stop for approval, and this
script approves them after printing what they are (``context["command"]`` for exec), as the
canonical journey's main.py does with a live event stream.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from ..sandbox_support import run_answering
from .workflows import sandbox_local_coder


def approve(data: dict[str, Any]) -> dict[str, Any]:
    print(f"approving {data['_source']}: {json.dumps(data['_form']['context'])[:120]}")
    return {"approved": True}


async def main(client: Any) -> dict[str, Any]:
    handle = await sandbox_local_coder.invoke(client, {"input": "Create hello.js that prints a greeting and run it."})
    execution, forms = await run_answering(client, handle, approve)
    result = execution["result"]
    return {
        "status": execution["status"],
        "approvals": [{"source": f["_source"], "context": f["_form"]["context"]} for f in forms],
        "output": result["tool_results"][-1]["result"]["stdout"],
        "answer": result["result"],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(LocalRuntime().client)), indent=2))
