"""Settings of the bundled Django project, configured from the environment (see docs/server.md).

| variable | default |
|---|---|
| ``POLOS_HOME`` | ``~/.polos`` (database, secret key, local.json) |
| ``POLOS_DATABASE_URL`` | SQLite file ``$POLOS_HOME/polos.sqlite3`` |
| ``POLOS_BROKER_URL``, else ``REDIS_URL`` | the broker of the server running for ``POLOS_HOME`` |
| ``POLOS_HOST`` / ``POLOS_PORT`` | ``127.0.0.1`` / ``8080`` |
| ``POLOS_SECRET_KEY`` | generated once into ``$POLOS_HOME/secret_key`` (0600) |
| ``POLOS_WORKFLOW_MODULES`` | modules to import for their workflows (comma separated) |
| ``POLOS_PUBLIC_URL`` | ``http://<host>:<port>`` (approval links) |
| ``POLOS_ALLOWED_HOSTS`` | ``localhost,127.0.0.1,[::1]`` and the host (``*`` when bound to all) |
| ``POLOS_DEBUG``, ``POLOS_LOG_LEVEL`` | off, ``WARNING`` |
| ``POLOS_CONN_MAX_AGE`` | persistent connections (``none``); in the web server 0 on PostgreSQL (with a pool) |
| ``POLOS_SERVE_STATIC`` | on (the ASGI app serves the admin's static files) |
"""

from __future__ import annotations

import os
import secrets
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import dj_database_url

from .runfiles import running_server


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _home() -> Path:
    # polos.local.polos_home, without importing the SDK package (settings load before apps).
    raw = _env("POLOS_HOME")
    home = Path(raw).expanduser() if raw else Path.home() / ".polos"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home.resolve()


def _secret_key(path: Path) -> str:
    """Read the key stored in ``path``, creating it (0600) exactly once even under concurrent starts."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(50))
    try:
        os.link(tmp, path)  # atomic, fails if another process won the race
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _database(url: str | None, home: Path) -> dict[str, Any]:
    if url is None:
        db: dict[str, Any] = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(home / "polos.sqlite3")}
    else:
        db = dict(dj_database_url.parse(url))
    # Persistent connections, except PostgreSQL sessions in the web server: under ASGI the admin's
    # requests each run on a new thread, which would each keep a session; a pool serves them instead.
    # SQLite connections are file handles that close with their thread, so they stay persistent.
    web_default = "0" if db["ENGINE"] == "django.db.backends.postgresql" else "none"
    conn_max_age = _env("POLOS_CONN_MAX_AGE", web_default if _env("POLOS_ROLE") == "web" else "none")
    max_age = None if conn_max_age.lower() == "none" else int(conn_max_age)
    db["CONN_MAX_AGE"] = max_age
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE: a writer takes the lock at BEGIN, so concurrent writers queue (up to `timeout`)
        # instead of failing with "database is locked" on upgrade.  WAL is set by polos_django.signals.
        db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    elif db["ENGINE"] == "django.db.backends.postgresql":
        db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)  # fail fast, not after TCP's minutes
        if max_age == 0 and find_spec("psycopg_pool") is not None:
            # The web server cannot keep a connection per thread under ASGI; a pool gives each
            # request a warm connection instead of a new PostgreSQL session.
            db["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 10, "timeout": 10}
    return db


def _broker() -> tuple[str, str]:
    for name in ("POLOS_BROKER_URL", "REDIS_URL"):
        if value := _env(name):
            return value, name
    server = running_server(POLOS_HOME)
    if server and server.get("broker_url"):
        return str(server["broker_url"]), "server.json"
    return "redis://127.0.0.1:6379/0", "default"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


POLOS_HOME = _home()
POLOS_ROLE = _env("POLOS_ROLE", "")  # web, worker, beat, setup: set by `polos server start` / `polos worker`
POLOS_HOST = _env("POLOS_HOST", "127.0.0.1")
POLOS_PORT = int(_env("POLOS_PORT", "8080"))
POLOS_API_URL = f"http://{_url_host(POLOS_HOST)}:{POLOS_PORT}"
POLOS_BROKER_URL, POLOS_BROKER_SOURCE = _broker()
POLOS_SERVE_STATIC = _flag("POLOS_SERVE_STATIC", True)


def _public_url() -> str:
    """Where approval links point: ``POLOS_PUBLIC_URL``, else this server's address; a process that
    is not the server (a script's in-process worker: no ``POLOS_HOST``/``POLOS_PORT``) uses the
    address the running server wrote to ``local.json``."""
    explicit = _env("POLOS_PUBLIC_URL")
    if explicit:
        return explicit
    if _env("POLOS_PORT") is None and _env("POLOS_HOST") is None:
        import json

        try:
            api_url = json.loads((POLOS_HOME / "local.json").read_text()).get("api_url")
        except (OSError, ValueError, AttributeError):
            api_url = None
        if isinstance(api_url, str) and api_url.startswith(("http://", "https://")):
            return api_url
    return POLOS_API_URL


SECRET_KEY = _env("POLOS_SECRET_KEY") or _secret_key(POLOS_HOME / "secret_key")
DEBUG = _flag("POLOS_DEBUG", False)
_allowed = _env("POLOS_ALLOWED_HOSTS")
if _allowed:
    ALLOWED_HOSTS = [h.strip() for h in _allowed.split(",") if h.strip()]
elif POLOS_HOST in ("0.0.0.0", "::"):
    ALLOWED_HOSTS = ["*"]
else:
    ALLOWED_HOSTS = sorted({"localhost", "127.0.0.1", "[::1]", _url_host(POLOS_HOST).strip("[]")})

INSTALLED_APPS = [
    # First, so that `runserver` serves ASGI.  Worker and beat processes leave it out: it imports
    # Twisted at start-up, 26 MiB per process for nothing.
    *([] if POLOS_ROLE in ("worker", "beat") else ["daphne"]),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "polos_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "polos_django.server.urls"
WSGI_APPLICATION = "polos_django.server.wsgi.application"
ASGI_APPLICATION = "polos_django.server.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": _database(_env("POLOS_DATABASE_URL"), POLOS_HOME)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "/static/"
STATIC_ROOT = str(POLOS_HOME / "static")

# Celery: the database is the source of truth, messages are doorbells (docs/architecture.md).
CELERY_BROKER_URL = POLOS_BROKER_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Celery's Django fixup closes the database connection around every task unless this is set; a
# reconnect per task costs ~5 ms on PostgreSQL.
CELERY_DB_REUSE_MAX = 1000

_redis_url = _env("POLOS_REDIS_URL") or (
    POLOS_BROKER_URL if POLOS_BROKER_URL.startswith(("redis://", "rediss://", "unix://")) else _env("REDIS_URL")
)
if _redis_url:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_redis_url]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {"TITLE": "Polos API", "VERSION": "1"}

POLOS: dict[str, Any] = {
    "WORKFLOW_MODULES": [m.strip() for m in (_env("POLOS_WORKFLOW_MODULES") or "").split(",") if m.strip()],
    "PUBLIC_URL": _public_url(),
}
if _redis_url:
    POLOS["REDIS_URL"] = _redis_url

_log_level = (_env("POLOS_LOG_LEVEL") or "WARNING").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # Errors of requests are printed even without DEBUG (Django's default would only mail them).
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "polos": {"handlers": ["console"], "level": _log_level, "propagate": False},
    },
}

# Every process that loads these settings (web, worker, beat, scripts) needs the Celery app: the
# doorbell's shared task sends through the current app.
from .celery import app as celery_app  # noqa: E402, F401
