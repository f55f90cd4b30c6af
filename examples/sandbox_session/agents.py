"""A session-scoped sandbox: every run with the same session id gets the same workspace.

``scope="session"`` keeps the sandbox between runs of a conversation and destroys it once it has
been idle for ``idle_destroy_timeout``. The model here is scripted so the example runs offline.
"""

from __future__ import annotations

from polos import Agent, ExecToolConfig, LocalEnvironmentConfig, SandboxToolsConfig, sandbox_tools
from polos.testing import Reply, ScriptedModel

tools = sandbox_tools(
    SandboxToolsConfig(
        env="local",
        id="ex_session",
        scope="session",
        idle_destroy_timeout="30m",
        local=LocalEnvironmentConfig(),  # an auto-provisioned workspace per session
        exec=ExecToolConfig(security="allow-always"),  # demo only: the local default asks first
        file_approval="none",
    )
)


def scripted_model() -> ScriptedModel:
    return ScriptedModel(
        [
            Reply(tool_calls=[("ex_session_write", {"path": "notes.txt", "content": "buy milk\n"})]),
            "Noted.",
            Reply(tool_calls=[("ex_session_exec", {"command": "cat notes.txt"})]),
            "Your note says: buy milk",
            Reply(tool_calls=[("ex_session_exec", {"command": "ls"})]),
            "This conversation has no notes yet.",
        ]
    )


def notes_agent(model: object | None = None) -> Agent:
    return Agent(
        id="sandbox_session_notes",
        provider=model or scripted_model(),
        model="claude-sonnet-4-5",
        system_prompt="You keep notes in files in your workspace.",
        tools=list(tools),
    )
