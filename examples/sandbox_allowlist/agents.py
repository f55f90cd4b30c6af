"""Exec security with an allowlist: listed commands run at once, anything else asks a human.

Allowlist entries are globs, but a wildcard never matches a character that chains, substitutes or
redirects commands (``; & | $ ` < > ( )``, newlines): ``ls *`` allows ``ls -la`` and not
``ls; rm -rf ~``. The model here is scripted so the example runs offline.
"""

from __future__ import annotations

import os

from polos import Agent, ExecToolConfig, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply, ScriptedModel

WORKSPACE = os.environ.get("SANDBOX_ALLOWLIST_WORKSPACE", "./workspace")

tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="ex_allow",
        local=LocalEnvironmentConfig(cwd=WORKSPACE),
        exec=ExecToolConfig(security="allowlist", allowlist=["ls *", "node --version", "cat *"]),
        tools=["exec", "read"],
    )
)


def scripted_model() -> ScriptedModel:
    return ScriptedModel(
        [
            Reply(tool_calls=[("ex_allow_exec", {"command": "ls -la"})]),
            Reply(tool_calls=[("ex_allow_exec", {"command": "node --version"})]),
            Reply(tool_calls=[("ex_allow_exec", {"command": "ls; rm -rf build"})]),
            "Listed the workspace and checked node; the cleanup was declined, so build/ is kept.",
        ]
    )


def ops_agent(model: object | None = None) -> Agent:
    return Agent(
        id="sandbox_allowlist_ops",
        provider=model or scripted_model(),
        model="claude-sonnet-4-5",
        system_prompt="You maintain the project in your workspace.",
        tools=list(tools),
    )
