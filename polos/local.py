"""Local connection settings written by ``polos server start`` (standard library only, no Django).

On first start the server creates a project and an API key and writes them, with its URL, to
``$POLOS_HOME/local.json`` (mode 0600; ``POLOS_HOME`` defaults to ``~/.polos``)::

    {"api_url": "http://127.0.0.1:8080", "project_id": "proj_...", "api_key": "polos_..."}

A client on the same machine reads that file when no URL or key is given explicitly or through
``POLOS_*`` variables, so ``PolosClient(project_id=...)`` needs nothing else.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_FILE = "local.json"


def polos_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The directory of the local server's files: ``home``, else ``$POLOS_HOME``, else ``~/.polos``."""
    raw = os.fspath(home) if home is not None else os.environ.get("POLOS_HOME")
    return Path(raw).expanduser() if raw else Path.home() / ".polos"


def local_settings_path(home: str | os.PathLike[str] | None = None) -> Path:
    return polos_home(home) / LOCAL_FILE


@dataclass(frozen=True)
class LocalSettings:
    """How to reach the local server; ``api_key`` is kept out of ``repr`` (it is a secret)."""

    api_url: str
    project_id: str
    api_key: str = field(repr=False)

    def as_dict(self) -> dict[str, str]:
        return {"api_url": self.api_url, "project_id": self.project_id, "api_key": self.api_key}


def read_local_settings(home: str | os.PathLike[str] | None = None) -> LocalSettings | None:
    """The settings in ``$POLOS_HOME/local.json``, or ``None`` when no local server wrote any.

    Raises:
        ConfigurationError: the file exists but is not what the server writes.
    """
    path = local_settings_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data: Any = json.loads(text)
        return LocalSettings(str(data["api_url"]), str(data["project_id"]), str(data["api_key"]))
    except (ValueError, TypeError, KeyError):
        from .exceptions import ConfigurationError

        raise ConfigurationError(
            f"{path} is not valid local settings (api_url, project_id, api_key); "
            "delete it and run `polos server start` again to recreate it"
        ) from None


def write_local_settings(settings: LocalSettings, home: str | os.PathLike[str] | None = None) -> Path:
    """Write ``local.json`` atomically with mode 0600 (it holds an API key); returns its path."""
    path = local_settings_path(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".local-", suffix=".json", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(settings.as_dict(), f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
