"""Run the Docker example: ``python -m examples.sandbox_docker.main`` (needs a Docker engine).

Set ``SANDBOX_DOCKER_IMAGE`` to an image the engine already has (default ``node:20-slim``). Docker
sandboxes default to ``allow-always``: the container is the boundary, so nothing asks for approval.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime

from .workflows import IMAGE, sandbox_docker_coder


def engine_problem() -> str | None:
    """Why the example cannot run here, or ``None``."""
    try:
        import docker

        docker.from_env(timeout=5).images.get(IMAGE)
    except Exception as exc:
        return f"needs a Docker engine with the image {IMAGE!r} ({type(exc).__name__})"
    return None


async def main(client: Any) -> dict[str, Any]:
    problem = engine_problem()
    if problem:
        return {"status": "skipped", "reason": problem}
    result = await sandbox_docker_coder.run(client, "Write compute.sh that prints 6*7 and run it.")
    return {"status": "completed", "exec": result.tool_results[-1].result, "answer": result.result}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(LocalRuntime().client)), indent=2))
