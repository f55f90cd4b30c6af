"""Coding agents with sandbox tools, run by worker processes (``POLOS["WORKFLOW_MODULES"]``).

The canonical journey's agent, twice: a local sandbox (the workspace comes from
``$POLOS_SANDBOX_E2E_WORKSPACE`` in the worker) and a Docker sandbox (``$POLOS_TEST_DOCKER_IMAGE``).
Each configuration has its own ``id`` because both live in one process.
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

sb_local_tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="sbl",
        local=LocalEnvironmentConfig(cwd=WORKSPACE, path_restriction=WORKSPACE),
    )
)

sb_local_agent = Agent(
    id="sb_local_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a coding agent. Your workspace is at ./workspace.",
    tools=list(sb_local_tools),
)

sb_docker_tools = sandbox_tools(
    SandboxToolsConfig(
        env="docker",
        id="sbd",
        docker=DockerEnvironmentConfig(image=os.environ.get("POLOS_TEST_DOCKER_IMAGE", "polos-sandbox-test:1")),
        exec=ExecToolConfig(security="approval-always"),
    )
)

sb_docker_agent = Agent(
    id="sb_docker_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You are a coding agent. Your workspace is /workspace in a container.",
    tools=list(sb_docker_tools),
)
