"""Sandbox tools in Docker: one container per root execution, removed when the execution ends.

The container has no network, a read-only root filesystem with a writable workspace and /tmp,
memory/CPU/PID limits and a non-root user. ``pull=False``: the example only uses an image the
engine already has. The model here is scripted so the example runs offline.
"""

from __future__ import annotations

import os

from polos import Agent, DockerEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply, ScriptedModel

IMAGE = os.environ.get("SANDBOX_DOCKER_IMAGE") or os.environ.get("POLOS_TEST_DOCKER_IMAGE") or "node:20-slim"

tools = sandbox_tools(
    SandboxToolsConfig(
        env="docker",
        id="ex_docker",
        docker=DockerEnvironmentConfig(image=IMAGE, memory="512m", cpus="1", network="none", pull=False),
    )
)

SCRIPT = 'echo "sum=$((6 * 7))"\nuname -s\n'


def scripted_model() -> ScriptedModel:
    return ScriptedModel(
        [
            Reply(tool_calls=[("ex_docker_write", {"path": "compute.sh", "content": SCRIPT})]),
            Reply(tool_calls=[("ex_docker_exec", {"command": "sh compute.sh && id -u"})]),
            "The script printed sum=42 inside a Linux container, as a non-root user.",
        ]
    )


def docker_agent(model: object | None = None) -> Agent:
    return Agent(
        id="sandbox_docker_coder",
        provider=model or scripted_model(),
        model="claude-sonnet-4-5",
        system_prompt="You are a coding agent working in /workspace inside a container.",
        tools=list(tools),
    )
