"""Reachability checks of the configured database and broker, with one-line error messages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


class UnreachableError(Exception):
    """A configured service cannot be used; the message is one line that says which and why."""


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (safe to print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0].strip()


def check_database(alias: str = "default") -> None:
    """Open a connection to the database (Django configured); raise :class:`UnreachableError`."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connections

    try:
        connections[alias].ensure_connection()
    except ImproperlyConfigured as error:  # e.g. no PostgreSQL driver installed
        message = first_line(error)
        if "psycopg" in message:
            message += " (pip install 'polos-django[postgres]')"
        raise UnreachableError(f"cannot use the database: {message}") from None
    except Exception as error:
        connection = connections[alias]
        settings_dict: dict[str, Any] = connection.settings_dict
        where = f"{connection.display_name} database {settings_dict.get('NAME')!s}"
        if connection.vendor != "sqlite":
            host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or ""
            where += f" at {host}{':' if port else ''}{port}"
        raise UnreachableError(f"cannot reach the {where}: {first_line(error)}") from None


def check_broker(url: str, timeout: float = 3.0) -> None:
    """Connect to the broker; raise :class:`UnreachableError` with a one-line reason."""
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
            try:
                client.ping()
            finally:
                client.close()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=timeout) as connection:
                connection.ensure_connection(max_retries=1)
    except Exception as error:
        raise UnreachableError(f"cannot reach the broker {redact(url)}: {first_line(error)}") from None
