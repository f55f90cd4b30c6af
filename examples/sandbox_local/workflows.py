"""The canonical journey's coding agent: sandbox tools in a local workspace, approvals on.

A local environment runs commands on this machine (inside bubblewrap when it is installed), so
``exec``, ``write`` and ``edit`` each ask a human first. The model is scripted so the example runs
offline; use ``provider="anthropic", model="claude-sonnet-4-5"`` for a real one.
"""

from __future__ import annotations

import os
import tempfile

from polos import Agent, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply

from ..sandbox_support import scripted_model

WORKSPACE = os.environ.get("SANDBOX_LOCAL_WORKSPACE") or os.path.join(tempfile.gettempdir(), "polos-sandbox-local")
HELLO = "console.log('Hello from the sandbox!')\n"

tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="sandbox_local",  # names the tools sandbox_local_exec, ... (several configurations in one process)
        local=LocalEnvironmentConfig(cwd=WORKSPACE, path_restriction=WORKSPACE),
    )
)

model = scripted_model(
    {
        "hello.js": [
            Reply(
                text="I'll create hello.js.",
                tool_calls=[("sandbox_local_write", {"path": "hello.js", "content": HELLO})],
            ),
            Reply(text="Now I run it.", tool_calls=[("sandbox_local_exec", {"command": "node hello.js"})]),
            "hello.js prints: Hello from the sandbox!",
        ]
    }
)

sandbox_local_coder = Agent(
    id="sandbox_local_coder",
    provider=model,
    model="claude-sonnet-4-5",
    system_prompt="You are a coding agent. Your workspace is at ./workspace.",
    tools=tools,
)
