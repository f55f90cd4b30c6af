"""Channels consumers: live traces of an execution tree over a websocket.

``ws/executions/{execution_id}/`` sends every event of the execution's tree (its root topic): first
the ones already stored (after ``?last_sequence_id=``, from the beginning by default), then live
ones, in sequence order, as ``{"type": "event", "event": {...}}``; ``{"type": "keepalive"}`` every
15 s of silence; ``{"type": "end"}`` after the root execution finished, then the socket closes.

Authorized like the API: ``?api_key=`` or ``Authorization: Bearer``, and ``?project_id=`` or
``X-Project-ID`` (optional: the key's project).  A refused connection is accepted, told why
(``{"type": "error", "code", "message"}``) and closed with 4401 (unauthenticated), 4403 (forbidden)
or 4404 (no such execution in the project).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .api.auth import ApiPrincipal, aauthenticate, bearer_token
from .api.errors import ApiError
from .api.streams import event_dict, follow
from .store import get_store

logger = logging.getLogger("polos.api")
CLOSE_CODES = {401: 4401, 403: 4403, 404: 4404}


class ExecutionTraceConsumer(AsyncJsonWebsocketConsumer):
    """Replay, then follow, the events of an execution tree (see module docstring)."""

    _task: asyncio.Task[None] | None = None

    def _params(self) -> tuple[dict[str, str], dict[str, str]]:
        query = {k: v[0] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        return query, headers

    async def _authenticate(self, query: dict[str, str], headers: dict[str, str]) -> ApiPrincipal:
        token = query.get("api_key") or bearer_token(headers.get("authorization"))
        if not token:
            raise ApiError(401, "unauthenticated", "an API key is required: ?api_key= or 'Authorization: Bearer'")
        return await aauthenticate(token, query.get("project_id") or headers.get("x-project-id"))

    async def _refuse(self, status: int, code: str, message: str) -> None:
        await self.accept()
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=CLOSE_CODES.get(status, 4400))

    async def connect(self) -> None:
        execution_id = str(self.scope["url_route"]["kwargs"]["execution_id"])
        query, headers = self._params()
        try:
            principal = await self._authenticate(query, headers)
        except ApiError as exc:
            await self._refuse(exc.status_code, exc.error_code, str(exc.detail))
            return
        record = await database_sync_to_async(get_store().get_execution)(execution_id, principal.project_id)
        if record is None:
            await self._refuse(404, "execution_not_found", f"no execution {execution_id!r} in this project")
            return
        cursor = query.get("last_sequence_id", "")
        if cursor and not cursor.isdigit():
            await self._refuse(400, "invalid_request", "last_sequence_id must be a whole number")
            return
        await self.accept()
        root = record.root_execution_id or record.id
        self._task = asyncio.create_task(self._pump(record.topic, principal.project_id, int(cursor or 0), root))

    async def _pump(self, topic: str, project_id: str, after: int, root: str) -> None:
        try:
            async for event in follow(topic, project_id, after=after, until_finished=root):
                if event is None:
                    await self.send_json({"type": "keepalive"})
                else:
                    await self.send_json({"type": "event", "event": event_dict(event)})
            await self.send_json({"type": "end"})
            await self.close()
        except Exception:
            logger.exception("trace stream of %s failed", topic)
            await self.close(code=1011)

    async def disconnect(self, code: int) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients have nothing to say; messages are ignored."""
