"""Glob and grep over a directory tree, without following symlinks (used by the local environment)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache

from .errors import SandboxFileError
from .output import is_binary
from .types import GrepMatch

MAX_GLOB_RESULTS = 1000
DEFAULT_GREP_RESULTS = 100
MAX_GREP_FILE_BYTES = 5 * 1024 * 1024
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob to a regex over ``/``-separated relative paths.

    ``**/`` matches any number of directories (including none), ``**`` anything, ``*`` and ``?``
    stay within one path component, ``[...]`` is a character class.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _walk(root: str) -> Iterator[tuple[str, bool]]:
    """Yield ``(relative path, is_dir)`` below ``root``; symlinks are listed but never entered."""
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = sorted(os.scandir(os.path.join(root, rel_dir)), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir:
                if entry.name in SKIPPED_DIRS:
                    continue
                stack.append(rel)
            yield rel, is_dir


def glob_files(root: str, pattern: str, ignore: list[str] | None = None, limit: int = MAX_GLOB_RESULTS) -> list[str]:
    """Files below ``root`` whose relative path matches ``pattern``, sorted."""
    if not pattern.strip():
        raise SandboxFileError("glob needs a pattern such as '**/*.py'")
    regex = glob_regex(pattern.lstrip("./") if pattern.startswith("./") else pattern)
    ignores = [glob_regex(p) for p in ignore or []]
    found: list[str] = []
    for rel, is_dir in _walk(root):
        if is_dir or not regex.match(rel):
            continue
        if any(i.match(rel) or i.match(os.path.basename(rel)) for i in ignores):
            continue
        found.append(rel)
    found.sort()
    return found[:limit]


def grep_files(
    root: str,
    pattern: str,
    include: list[str] | None = None,
    max_results: int | None = None,
    context_lines: int | None = None,
) -> list[GrepMatch]:
    """Lines below ``root`` matching the regular expression ``pattern`` (binary files skipped)."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise SandboxFileError(f"grep pattern {pattern!r} is not a valid regular expression: {exc}") from None
    includes = [glob_regex(p) for p in include or []]
    limit = max_results or DEFAULT_GREP_RESULTS
    around = max(0, context_lines or 0)
    matches: list[GrepMatch] = []
    for rel, is_dir in _walk(root):
        if is_dir or os.path.islink(os.path.join(root, rel)):
            continue
        if includes and not any(i.match(os.path.basename(rel)) or i.match(rel) for i in includes):
            continue
        text = _read_text(os.path.join(root, rel))
        if text is None:
            continue
        lines = text.splitlines()
        for number, line in enumerate(lines, start=1):
            if not regex.search(line):
                continue
            context = None
            if around:
                lo, hi = max(0, number - 1 - around), min(len(lines), number + around)
                context = "\n".join(lines[lo:hi])
            matches.append(GrepMatch(path=rel, line=number, text=line[:2000], context=context))
            if len(matches) >= limit:
                return matches
    return matches


def _read_text(path: str) -> str | None:
    try:
        if os.path.getsize(path) > MAX_GREP_FILE_BYTES:
            return None
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if is_binary(data):
        return None
    return data.decode("utf-8", errors="replace")


__all__ = ["glob_files", "glob_regex", "grep_files"]
