"""Run an agent example in memory, against the real provider or offline against a fake LLM server.

Every agent example's ``main.py`` ends with ``run_example(main, SCRIPT)``:

- with ``ANTHROPIC_API_KEY`` set (and no ``--offline`` argument) its agents call Anthropic;
- otherwise a :class:`polos.testing.FakeLLMServer` answers with the example's ``SCRIPT`` (what the
  model would say), and the official ``anthropic`` client talks to it over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from polos.testing import FakeLLMServer, LocalRuntime


def offline() -> bool:
    """Whether to use the fake LLM server (no key, or ``--offline`` on the command line)."""
    return "--offline" in sys.argv or not os.environ.get("ANTHROPIC_API_KEY")


def run_example(main: Callable[[Any], Awaitable[Any]], script: Any) -> None:
    """Run ``main(client)`` on an in-memory runtime and print its result as JSON."""

    async def go() -> Any:
        return await main(LocalRuntime().client)

    if offline():
        with FakeLLMServer(script) as fake, fake.patched_env():
            result = asyncio.run(go())
    else:
        result = asyncio.run(go())
    print(json.dumps(result, indent=2, default=lambda value: value.model_dump(mode="json")))
