"""The live timeline socket of the execution page, for logged-in staff users.

``ws/ui/executions/{execution_id}/?last_sequence_id=N`` sends the timeline entries (see
:mod:`polos_django.ui.timeline`) of the execution's tree after sequence id ``N``, then live ones, as
``{"type": "entry", "entry": {...}}``; ``{"type": "keepalive"}`` during silence and ``{"type": "end"}``
after the root execution finished.  It reuses the API stream (:func:`polos_django.api.streams.follow`:
subscribe to the Redis doorbell, read the database after the cursor), so nothing is missed across a
reconnect.

Authorization is the Django session (Channels' ``AuthMiddlewareStack``): the user must be active staff.
A browser's ``Origin`` must match the ``Host`` it connects to, so another site cannot open the socket
with the user's cookies.  Refusals are told (``{"type": "error", ...}``) and closed with 4401 / 4403 /
4404 like the API's consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ..api.streams import event_dict, follow
from ..models import Execution
from . import records, timeline

logger = logging.getLogger("polos.ui")


def _execution(execution_id: str) -> tuple[str, str, str] | None:
    row = (
        Execution.objects.filter(pk=execution_id)
        .values_list("project_id", "root_workflow_id", "root_execution_id", "id")
        .first()
    )
    if row is None:
        return None
    project_id, root_workflow_id, root_execution_id, ident = row
    root = root_execution_id or ident
    return project_id, f"workflow/{root_workflow_id}/{root}", root


class TimelineConsumer(AsyncJsonWebsocketConsumer):
    """Replay, then follow, an execution tree's timeline entries (see module docstring)."""

    _task: asyncio.Task[None] | None = None

    async def _refuse(self, close_code: int, code: str, message: str) -> None:
        await self.accept()
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=close_code)

    def _same_origin(self) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        origin = headers.get("origin")
        return origin is None or urlsplit(origin).netloc == headers.get("host")

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(4401, "unauthenticated", "log in as a staff user (Django admin) to watch executions")
            return
        if not (user.is_active and user.is_staff):
            await self._refuse(4403, "forbidden", "only staff users can watch executions")
            return
        if not self._same_origin():
            await self._refuse(4403, "forbidden", "cross-site websocket connections are refused")
            return
        execution_id = str(self.scope["url_route"]["kwargs"]["execution_id"])
        found = await database_sync_to_async(_execution)(execution_id)
        if found is None:
            await self._refuse(4404, "execution_not_found", f"no execution {execution_id!r}")
            return
        query = {k: v[0] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        cursor = query.get("last_sequence_id", "")
        if cursor and not cursor.isdigit():
            await self._refuse(4400, "invalid_request", "last_sequence_id must be a whole number")
            return
        await self.accept()
        project_id, topic, root = found
        self._task = asyncio.create_task(self._pump(topic, project_id, int(cursor or 0), root))

    async def _pump(self, topic: str, project_id: str, after: int, root: str) -> None:
        try:
            async for event in follow(topic, project_id, after=after, until_finished=root):
                if event is None:
                    await self.send_json({"type": "keepalive"})
                else:
                    entry = timeline.describe(event_dict(event))
                    if entry["type"] == "step_finish":
                        await database_sync_to_async(records.enrich)([entry])
                    await self.send_json({"type": "entry", "entry": entry})
            await self.send_json({"type": "end"})
            await self.close()
        except Exception:
            logger.exception("timeline stream of %s failed", topic)
            await self.close(code=1011)

    async def disconnect(self, code: int) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The page has nothing to say; messages are ignored."""
