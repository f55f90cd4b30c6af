"""Exec security with an allowlist: listed commands run at once, anything else asks a human.

Allowlist entries are globs, but a wildcard never matches a character that chains, substitutes or
redirects commands (``; & | $ ` < > ( )``, newlines): ``ls *`` allows ``ls -la`` and not
``ls; rm -rf build``. The model is scripted so the example runs offline.
"""

from __future__ import annotations

import os
import tempfile

from polos import Agent, ExecToolConfig, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply

from ..sandbox_support import scripted_model

WORKSPACE = os.environ.get("SANDBOX_ALLOWLIST_WORKSPACE") or os.path.join(
    tempfile.gettempdir(), "polos-sandbox-allowlist"
)

tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="sandbox_allowlist",
        local=LocalEnvironmentConfig(cwd=WORKSPACE),
        exec=ExecToolConfig(security="allowlist", allowlist=["ls *", "node --version", "cat *"]),
        tools=["exec", "read"],
    )
)

model = scripted_model(
    {
        "Tidy": [
            Reply(tool_calls=[("sandbox_allowlist_exec", {"command": "ls -la"})]),
            Reply(tool_calls=[("sandbox_allowlist_exec", {"command": "node --version"})]),
            Reply(tool_calls=[("sandbox_allowlist_exec", {"command": "ls; rm -rf build"})]),
            "Listed the workspace and checked node; the cleanup was declined, so build/ is kept.",
        ]
    }
)

sandbox_allowlist_ops = Agent(
    id="sandbox_allowlist_ops",
    provider=model,
    model="claude-sonnet-4-5",
    system_prompt="You maintain the project in your workspace.",
    tools=tools,
)
