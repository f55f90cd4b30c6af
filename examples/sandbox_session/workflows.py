"""A session-scoped sandbox: every run with the same session id gets the same workspace.

``scope="session"`` keeps the sandbox between the runs of a conversation and destroys it once it has
been idle for ``idle_destroy_timeout``. The model is scripted so the example runs offline.
"""

from __future__ import annotations

from polos import Agent, ExecToolConfig, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply

from ..sandbox_support import scripted_model

tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="sandbox_session",
        scope="session",
        idle_destroy_timeout="30m",
        local=LocalEnvironmentConfig(),  # an auto-provisioned workspace per session
        exec=ExecToolConfig(security="allow-always"),  # demo only: the local default asks first
        file_approval="none",
    )
)

model = scripted_model(
    {
        "Note:": [
            Reply(tool_calls=[("sandbox_session_write", {"path": "notes.txt", "content": "buy milk\n"})]),
            "Noted.",
        ],
        "What did I note": [
            Reply(tool_calls=[("sandbox_session_exec", {"command": "cat notes.txt"})]),
            "From your notes.",
        ],
        "Any notes": [Reply(tool_calls=[("sandbox_session_exec", {"command": "ls"})]), "Here is what I found."],
    }
)

sandbox_session_notes = Agent(
    id="sandbox_session_notes",
    provider=model,
    model="claude-sonnet-4-5",
    system_prompt="You keep notes in files in your workspace.",
    tools=tools,
)
