"""Coding agents with sandbox tools, run by the sandbox tests' own worker process.

The canonical journey's agent, twice: a local sandbox (the workspace comes from
``$POLOS_SANDBOX_E2E_WORKSPACE`` in the worker) and a Docker sandbox (``$POLOS_TEST_DOCKER_IMAGE``).
Each configuration has its own ``id`` because both live in one process. The agents and their tools
run on a queue of their own, consumed only by the worker that imports this module
(``POLOS_TEST_EXTRA_WORKFLOW_MODULES``), never by the shared test worker.
"""

from __future__ import annotations

import os

from polos import (
    Agent,
    DockerEnvironmentConfig,
    ExecToolConfig,
    LocalEnvironmentConfig,
    SandboxToolsConfig,
    sandbox_tools,
)

WORKSPACE = os.environ.get("POLOS_SANDBOX_E2E_WORKSPACE", "./workspace")
E2E_QUEUE = f"{os.environ.get('POLOS_TEST_QUEUE', 'polos-test')}-sandbox"

sb_local_tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="sbl",
        local=LocalEnvironmentConfig(cwd=WORKSPACE, path_restriction=WORKSPACE),
        queue=E2E_QUEUE,
    )
)

sb_local_agent = Agent(
    id="sb_local_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a coding agent. Your workspace is at ./workspace.",
    tools=list(sb_local_tools),
    queue=E2E_QUEUE,
)

sb_docker_tools = sandbox_tools(
    SandboxToolsConfig(
        env="docker",
        id="sbd",
        docker=DockerEnvironmentConfig(image=os.environ.get("POLOS_TEST_DOCKER_IMAGE", "polos-sandbox-test:1")),
        exec=ExecToolConfig(security="approval-always"),
        queue=E2E_QUEUE,
    )
)

sb_docker_agent = Agent(
    id="sb_docker_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a coding agent. Your workspace is /workspace in a container.",
    tools=list(sb_docker_tools),
    queue=E2E_QUEUE,
)
