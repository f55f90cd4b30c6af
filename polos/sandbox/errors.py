"""Errors of the sandbox (all under :class:`polos.PolosError`, each with a stable ``code``)."""

from __future__ import annotations

from ..exceptions import ConfigurationError, PolosError


class SandboxError(PolosError):
    """A sandbox could not be created, reached or used."""

    code = "sandbox_error"


class SandboxConfigError(ConfigurationError):
    """A sandbox configuration cannot work (the message says what to change)."""

    code = "sandbox_config_error"


class SandboxUnavailableError(SandboxError):
    """The environment's backend (Docker engine, bubblewrap, E2B) is not reachable or not installed."""

    code = "sandbox_unavailable"


class PathNotAllowedError(SandboxError):
    """A path leaves the workspace (``..``, an absolute path, or a symlink pointing outside)."""

    code = "path_not_allowed"


class SandboxFileError(SandboxError):
    """A file operation failed (missing file, binary file, text not found for an edit...)."""

    code = "sandbox_file_error"


__all__ = [
    "PathNotAllowedError",
    "SandboxConfigError",
    "SandboxError",
    "SandboxFileError",
    "SandboxUnavailableError",
]
