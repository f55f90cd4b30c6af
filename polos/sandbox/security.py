"""Exec allowlists and workspace path checks: the sandbox's security rules as plain functions.

Allowlist entries are globs (``*`` any run of characters, ``?`` one character, ``\\`` escapes the
next character). A wildcard never matches a shell metacharacter that chains, substitutes or
redirects commands (``; & | $ ` < > ( )``, newlines): such characters in a command only match the
same characters written literally in the entry. So ``git *`` allows ``git status`` but not
``git status; rm -rf ~`` or ``git log $(id)``; ``npm test | tee log.txt`` allows exactly that pipe.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .errors import PathNotAllowedError

#: Characters a wildcard never matches: they chain (``; & |``), substitute (``$ ` ( )``),
#: redirect (``< >``) or end (newlines) commands.
SHELL_METACHARS = frozenset(";&|$`<>()\n\r\x00")
_META_CLASS = "".join(re.escape(c) for c in sorted(SHELL_METACHARS))


def has_shell_metachars(command: str) -> bool:
    """Whether ``command`` contains a character that chains, substitutes or redirects commands."""
    return any(c in SHELL_METACHARS for c in command)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern.strip())
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif c == "*":
            out.append(f"[^{_META_CLASS}]*")
        elif c == "?":
            out.append(f"[^{_META_CLASS}]")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def allowlist_match(command: str, allowlist: Iterable[str]) -> str | None:
    """The first allowlist entry that allows ``command``, or ``None``."""
    text = command.strip()
    if not text:
        return None
    for pattern in allowlist:
        if pattern.strip() and _compile(pattern).fullmatch(text):
            return pattern
    return None


def exact_pattern(command: str) -> str:
    """An allowlist entry that allows exactly ``command`` (what "always allow" adds)."""
    return "".join("\\" + c if c in "*?\\" else c for c in command.strip())


# --- paths ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A path checked against a workspace.

    Attributes:
        path: the absolute, normalized path (symlinks inside the workspace resolved).
        inside: whether it is inside the workspace.
        requested: the path as the caller wrote it.
    """

    path: str
    inside: bool
    requested: str


def is_within(path: str, root: str) -> bool:
    """Whether the normalized absolute ``path`` is ``root`` or below it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class Workspace:
    """A directory the file tools are confined to.

    Relative paths are taken from ``cwd`` (default: the root). ``..`` and absolute paths are
    normalized first and reported as outside when they leave the root; a symlink on the way that
    points outside the root is refused outright (:class:`PathNotAllowedError`), never followed.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def resolve(self, path: str, cwd: str | None = None) -> ResolvedPath:
        """Check ``path``; raises :class:`PathNotAllowedError` for NUL bytes and symlink escapes."""
        if not isinstance(path, str) or not path.strip():
            raise PathNotAllowedError("a path is required (relative to the workspace)")
        if "\x00" in path:
            raise PathNotAllowedError("paths cannot contain NUL bytes")
        base = self.root if cwd is None else self.resolve(cwd).path
        expanded = path if os.path.isabs(path) else os.path.join(base, path)
        lexical = os.path.normpath(expanded)
        if not is_within(lexical, self.root):
            return ResolvedPath(lexical, False, path)
        real = os.path.realpath(lexical)
        if not is_within(real, self.root):
            raise PathNotAllowedError(
                f"{path!r} goes through a symlink that points outside the workspace ({self.root}); "
                "symlinks leaving the workspace are never followed"
            )
        return ResolvedPath(real, True, path)

    def relative(self, path: str) -> str:
        """``path`` relative to the root ("." for the root itself)."""
        return os.path.relpath(path, self.root)

    def open_beneath(self, path: str, flags: int, mode: int = 0o644) -> int:
        """Open a path inside the workspace without following any symlink on the way.

        Each component is opened relative to its parent with ``O_NOFOLLOW``, so a directory
        swapped for a symlink after :meth:`resolve` (a race) makes the open fail instead of
        escaping. Returns a file descriptor.
        """
        if not is_within(path, self.root):
            raise PathNotAllowedError(f"{path!r} is outside the workspace ({self.root})")
        parts = [p for p in os.path.relpath(path, self.root).split(os.sep) if p not in ("", ".")]
        if ".." in parts:
            raise PathNotAllowedError(f"{path!r} is outside the workspace ({self.root})")
        dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for index, part in enumerate(parts[:-1]):
                if flags & os.O_CREAT:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=dir_fd)
                try:
                    next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                except OSError as exc:
                    shown = os.sep.join(parts[: index + 1])
                    raise PathNotAllowedError(
                        f"cannot open {shown!r} in the workspace without following a symlink: {exc.strerror}"
                    ) from exc
                os.close(dir_fd)
                dir_fd = next_fd
            if not parts:
                return os.dup(dir_fd)
            return os.open(parts[-1], flags | os.O_NOFOLLOW, mode, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)


__all__ = [
    "SHELL_METACHARS",
    "ResolvedPath",
    "Workspace",
    "allowlist_match",
    "exact_pattern",
    "has_shell_metachars",
    "is_within",
]
