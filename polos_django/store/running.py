"""What the current thread's Celery run task is (set by :mod:`polos_django.tasks`).

``running_task.id``: the Celery task id, recorded on claim so that a cancel past its grace period
can revoke the task.  ``running_task.lane``: the lane hint of its doorbell.  ``running_task.handoff``:
its hand-off budget (:mod:`.handoff`).  A thread-local, not a context variable: the engine runs
executions in its own persistent context.
"""

from __future__ import annotations

import threading

running_task = threading.local()
