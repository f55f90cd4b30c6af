"""The files a running server keeps in ``POLOS_HOME`` (standard library only).

- ``server.lock``: held (``flock``) by the supervisor for its whole life; the kernel releases it
  when the process dies, however it dies, so a stale file never blocks a new start.
- ``server.pid``: the supervisor's pid, for humans and scripts.
- ``server.json``: pid, API URL and broker URL (0600: the embedded broker's URL has its password).
  Other processes of the same ``POLOS_HOME`` (``polos worker``, scripts) read the broker from it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


class AlreadyRunningError(RuntimeError):
    pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(home: Path) -> int | None:
    try:
        return int((home / "server.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def running_server(home: Path) -> dict[str, Any] | None:
    """``server.json`` of a live server for ``home``, else ``None``."""
    try:
        info = json.loads((home / "server.json").read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if pid_alive(pid) else None


def acquire_lock(home: Path) -> int:
    """Take the server lock of ``home``; returns the open descriptor (keep it open to hold the lock).

    Raises:
        AlreadyRunningError: another live server holds it.
    """
    fd = os.open(home / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunningError(_running_message(home, read_pid(home))) from None
    else:  # pragma: no cover - best effort without flock
        pid = read_pid(home)
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            os.close(fd)
            raise AlreadyRunningError(_running_message(home, pid))
    return fd


def _running_message(home: Path, pid: int | None) -> str:
    who = f" (pid {pid})" if pid else ""
    return (
        f"a Polos server is already running for {home}{who}; stop it first, "
        "or start another one with a different --home / POLOS_HOME and --port"
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run_files(home: Path, info: dict[str, Any]) -> None:
    write_private(home / "server.pid", f"{os.getpid()}\n")
    write_private(home / "server.json", json.dumps({"pid": os.getpid(), **info}, indent=2) + "\n")


def remove_run_files(home: Path) -> None:
    for name in ("server.json", "server.pid"):
        (home / name).unlink(missing_ok=True)
