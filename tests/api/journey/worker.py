"""``python worker.py <project_id>``: serve the journey's workflow (terminal 2)."""

from __future__ import annotations

import asyncio
import sys

from workflows import review

from polos import PolosClient, Worker

client = PolosClient(project_id=sys.argv[1])
asyncio.run(Worker(client=client, workflows=[review]).run())
