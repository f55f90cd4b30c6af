"""Where conversations and session memory are kept.

An agent's conversation is an append-only message log stored once; the durable steps of an agent
run record positions in the log, not copies of it, so storage for an N-turn run grows linearly.
Session memory (what an agent remembers across runs of one session) is a small key/value store.

:class:`ConversationStore` is the interface; :class:`InMemoryConversationStore` backs
``polos.testing.LocalRuntime``; ``polos_django`` binds its database implementation at start-up
with :func:`bind_conversation_store`.
"""

from __future__ import annotations

import abc
import copy
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import WorkflowContext


class ConversationStore(abc.ABC):
    """Append-only conversation logs plus a key/value store for session memory.

    Messages are JSON-compatible dicts (``polos.llm.Message`` dumps).  Writes are idempotent so a
    replayed step can repeat them safely.
    """

    @abc.abstractmethod
    def append(self, conversation_id: str, index: int, messages: Sequence[dict[str, Any]]) -> None:
        """Write ``messages`` at positions ``index, index + 1, ...`` of the log.

        A position already written is overwritten (a replay writes the same message again).
        """

    @abc.abstractmethod
    def load(self, conversation_id: str, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        """The messages at positions ``start <= i < end`` (``end=None``: to the end), in order."""

    @abc.abstractmethod
    def length(self, conversation_id: str) -> int:
        """How many messages the log holds."""

    @abc.abstractmethod
    def get_value(self, key: str) -> Any:
        """The value stored under ``key`` (``None`` when absent)."""

    @abc.abstractmethod
    def set_value(self, key: str, value: Any) -> None:
        """Store a JSON-compatible ``value`` under ``key`` (``None`` deletes it)."""

    def stored_bytes(self, conversation_id: str) -> int:
        """Bytes the log of ``conversation_id`` takes in storage (for measurements)."""
        import json

        return sum(len(json.dumps(m, separators=(",", ":"))) for m in self.load(conversation_id))


class InMemoryConversationStore(ConversationStore):
    """A :class:`ConversationStore` in process memory (tests, ``LocalRuntime``)."""

    def __init__(self) -> None:
        self._logs: dict[str, list[dict[str, Any]]] = {}
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def append(self, conversation_id: str, index: int, messages: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            log = self._logs.setdefault(conversation_id, [])
            if index > len(log):
                raise ValueError(f"conversation {conversation_id!r}: append at {index} leaves a gap (has {len(log)})")
            for offset, message in enumerate(messages):
                position = index + offset
                if position < len(log):
                    log[position] = copy.deepcopy(message)
                else:
                    log.append(copy.deepcopy(message))

    def load(self, conversation_id: str, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._logs.get(conversation_id, [])[start:end])

    def length(self, conversation_id: str) -> int:
        with self._lock:
            return len(self._logs.get(conversation_id, []))

    def get_value(self, key: str) -> Any:
        with self._lock:
            return copy.deepcopy(self._values.get(key))

    def set_value(self, key: str, value: Any) -> None:
        with self._lock:
            if value is None:
                self._values.pop(key, None)
            else:
                self._values[key] = copy.deepcopy(value)


_bound: ConversationStore | None = None
_per_store: weakref.WeakKeyDictionary[Any, ConversationStore] = weakref.WeakKeyDictionary()
_per_store_lock = threading.Lock()


def bind_conversation_store(store: ConversationStore | None) -> None:
    """Make ``store`` the conversation store of executions run on a database store (``polos_django``)."""
    global _bound
    _bound = store


def bound_conversation_store() -> ConversationStore | None:
    """The store bound with :func:`bind_conversation_store`, if any."""
    return _bound


def conversation_store_for(execution_store: Any) -> ConversationStore:
    """The conversation store that goes with an execution store.

    An in-memory execution store (``LocalRuntime``) gets its own in-memory conversation store, so two
    runtimes in one process never share memory; any other store uses the bound one.
    """
    from ..memory_store import MemoryStore

    if _bound is not None and not isinstance(execution_store, MemoryStore):
        return _bound
    with _per_store_lock:
        store = _per_store.get(execution_store)
        if store is None:
            store = InMemoryConversationStore()
            _per_store[execution_store] = store
        return store


def conversation_store(ctx: WorkflowContext) -> ConversationStore:
    """The conversation store of the execution ``ctx`` belongs to."""
    return conversation_store_for(ctx._run.store)


__all__ = [
    "ConversationStore",
    "InMemoryConversationStore",
    "bind_conversation_store",
    "bound_conversation_store",
    "conversation_store",
    "conversation_store_for",
]
