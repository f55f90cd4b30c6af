"""Shape a suspend's ``context`` for reading: commands as code, diffs as diffs, the rest as text or JSON.

Everything returned is plain data; templates autoescape it (no ``|safe`` anywhere), so HTML or
script in a context, a label or a tool's output is shown as text, never run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CODE_KEYS = {"command", "cmd", "script", "code", "sql", "query"}
DIFF_KEYS = {"diff", "patch"}
MAX_CHARS = 20_000


@dataclass(slots=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "meta" or "same"
    text: str


@dataclass(slots=True)
class ContextItem:
    label: str
    kind: str  # "code", "diff", "text", "multiline" or "json"
    value: str = ""
    lines: list[DiffLine] = field(default_factory=list)
    truncated: bool = False


def context_items(context: Any) -> list[ContextItem]:
    """The rows to show for a ``_form.context`` (a dict is one row per key)."""
    if context is None or context == {} or context == []:
        return []
    if not isinstance(context, dict):
        return [_item("Details", "", context)]
    return [_item(_label(str(key)), str(key).lower(), value) for key, value in context.items()]


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize() or key


def _item(label: str, key: str, value: Any) -> ContextItem:
    if isinstance(value, str):
        text, truncated = _clip(value)
        if key in DIFF_KEYS or looks_like_diff(text):
            return ContextItem(label, "diff", lines=diff_lines(text), truncated=truncated)
        if key in CODE_KEYS:
            return ContextItem(label, "code", text, truncated=truncated)
        return ContextItem(label, "multiline" if "\n" in text else "text", text, truncated=truncated)
    if key in CODE_KEYS and isinstance(value, list) and all(isinstance(v, str) for v in value):
        text, truncated = _clip(" ".join(value))
        return ContextItem(label, "code", text, truncated=truncated)
    if value is None or isinstance(value, bool | int | float):
        return ContextItem(label, "text", json.dumps(value))
    try:
        rendered = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        rendered = repr(value)
    text, truncated = _clip(rendered)
    return ContextItem(label, "json", text, truncated=truncated)


def _clip(text: str) -> tuple[str, bool]:
    return (text[:MAX_CHARS], True) if len(text) > MAX_CHARS else (text, False)


def looks_like_diff(text: str) -> bool:
    head = text.lstrip()[:400]
    return head.startswith(("--- ", "diff --git", "@@ ")) and ("\n+" in text or "\n-" in text)


def diff_lines(text: str) -> list[DiffLine]:
    lines = []
    for line in text.splitlines():
        if line.startswith(("+++", "---", "diff ", "index ")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append(DiffLine(kind, line))
    return lines
