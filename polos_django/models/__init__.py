"""The runtime's tables, one module per concept, all under the ``polos`` app label.

``core`` holds executions, memoized steps, waits, events, projects and API keys; ``flow`` the
schedules, event-trigger cursors and concurrency lanes; ``agents`` the conversation log and
session memory; ``approvals`` who answered which suspend.
"""

from __future__ import annotations

from polos_django.models.agents import *  # noqa: F403
from polos_django.models.approvals import *  # noqa: F403
from polos_django.models.core import *  # noqa: F403
from polos_django.models.flow import *  # noqa: F403
