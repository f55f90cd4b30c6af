"""Sandbox tools in Docker: one container per root execution, removed when the execution ends.

The container has no network, a read-only root filesystem with a writable workspace and /tmp,
memory/CPU/PID limits and a non-root user. ``pull=False``: the example only uses an image the
engine already has (``SANDBOX_DOCKER_IMAGE``). The model is scripted so the example runs offline.
"""

from __future__ import annotations

import os

from polos import Agent, DockerEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply

from ..sandbox_support import scripted_model

IMAGE = os.environ.get("SANDBOX_DOCKER_IMAGE") or os.environ.get("POLOS_TEST_DOCKER_IMAGE") or "node:20-slim"
SCRIPT = 'echo "sum=$((6 * 7))"\nuname -s\n'

tools = sandbox_tools(
    SandboxToolsConfig(
        env="docker",
        id="sandbox_docker",
        docker=DockerEnvironmentConfig(image=IMAGE, memory="512m", cpus="1", network="none", pull=False),
    )
)

model = scripted_model(
    {
        "compute.sh": [
            Reply(tool_calls=[("sandbox_docker_write", {"path": "compute.sh", "content": SCRIPT})]),
            Reply(tool_calls=[("sandbox_docker_exec", {"command": "sh compute.sh && id -u"})]),
            "The script printed sum=42 inside a Linux container, as a non-root user.",
        ]
    }
)

sandbox_docker_coder = Agent(
    id="sandbox_docker_coder",
    provider=model,
    model="claude-sonnet-4-5",
    system_prompt="You are a coding agent working in /workspace inside a container.",
    tools=tools,
)
