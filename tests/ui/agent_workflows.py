"""An agent for the UI's agent-trace test, imported only by that test's worker and the test itself.

Not in ``POLOS["WORKFLOW_MODULES"]``: other workers (without the fake LLM server's environment) would
consume its queue too.
"""

from __future__ import annotations

import os

from polos import Agent

AGENT_QUEUE = f"{os.environ.get('POLOS_TEST_QUEUE', 'polos-test')}-ui-agent"

ui_agent = Agent(
    id="ui_agent",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You greet people.",
    queue=AGENT_QUEUE,
)
