"""Run the Docker example: ``python -m examples.sandbox_docker.main`` (needs a Docker engine).

Set ``SANDBOX_DOCKER_IMAGE`` to an image the engine already has (default ``node:20-slim``). Docker
sandboxes default to ``allow-always``: the container is the boundary, so nothing asks for approval.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from polos.testing import LocalRuntime


def engine_problem(image: str) -> str | None:
    """Why the example cannot run here, or ``None``."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.images.get(image)
    except Exception as exc:
        return f"needs a Docker engine with the image {image!r} ({type(exc).__name__})"
    return None


async def main(runtime: LocalRuntime | None = None) -> dict[str, Any]:
    from .agents import IMAGE, docker_agent

    problem = engine_problem(IMAGE)
    if problem:
        return {"status": "skipped", "reason": problem}
    runtime = runtime or LocalRuntime()
    result = await docker_agent().run(runtime.client, "Write compute.sh that prints 6*7 and run it.")
    return {"status": "completed", "exec": result.tool_results[-1].result, "answer": result.result}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
