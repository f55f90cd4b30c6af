"""The canonical journey's coding agent: sandbox tools in a local workspace, approvals on.

A local environment runs commands on this machine (inside bubblewrap when it is installed), so
``exec``, ``write`` and ``edit`` each ask a human first. The model here is scripted so the example
runs offline; pass ``provider="anthropic", model="claude-sonnet-4-5"`` for a real one.
"""

from __future__ import annotations

import os

from polos import Agent, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply, ScriptedModel

WORKSPACE = os.environ.get("SANDBOX_LOCAL_WORKSPACE", "./workspace")

tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="ex_local",  # names the tools ex_local_exec, ... (several examples share one process)
        local=LocalEnvironmentConfig(cwd=WORKSPACE, path_restriction=WORKSPACE),
    )
)

HELLO = "console.log('Hello from the sandbox!')\n"


def scripted_model() -> ScriptedModel:
    """What a model would do: write hello.js, run it, report."""
    return ScriptedModel(
        [
            Reply(
                text="I'll create hello.js.", tool_calls=[("ex_local_write", {"path": "hello.js", "content": HELLO})]
            ),
            Reply(text="Now I run it.", tool_calls=[("ex_local_exec", {"command": "node hello.js"})]),
            "hello.js prints: Hello from the sandbox!",
        ]
    )


def coding_agent(model: object | None = None) -> Agent:
    return Agent(
        id="sandbox_local_coder",
        provider=model or scripted_model(),
        model="claude-sonnet-4-5",
        system_prompt="You are a coding agent. Your workspace is at ./workspace.",
        tools=list(tools),
    )
