"""The ``polos`` command: run the bundled server, a worker, migrations, API keys.

    polos server start            # everything, zero configuration (docs/server.md)
    polos worker -A myapp.workflows
    polos migrate
    polos createkey --project my-project
    polos manage createsuperuser  # any manage.py command of the bundled project

Every option has an environment variable; a command-line option wins over it.  Importing this
module is cheap (no Django): ``server start`` keeps its supervisor process small.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

SETTINGS_MODULE = "polos_django.server.settings"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def _home(value: str | None) -> Path:
    # Same rule as polos.local.polos_home (not imported: `import polos` costs 20 MiB and 0.25 s).
    raw = value or _env("POLOS_HOME")
    return (Path(raw).expanduser() if raw else Path.home() / ".polos").resolve()


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _common(parser: argparse.ArgumentParser, broker: bool = False) -> None:
    parser.add_argument(
        "--home", metavar="DIR", help="Directory of the local server's files (env POLOS_HOME; default ~/.polos)"
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="Database, e.g. postgres://user@host/db "
        "(env POLOS_DATABASE_URL; default SQLite $POLOS_HOME/polos.sqlite3)",
    )
    if broker:
        parser.add_argument(
            "--broker-url",
            metavar="URL",
            help="Celery broker, e.g. redis://host:6379/0 (env POLOS_BROKER_URL, else REDIS_URL; "
            "default: the broker of the server running for POLOS_HOME)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polos", description="Polos for Django: durable workflows and agents.")
    parser.add_argument("--version", action="store_true", help="Print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    server = commands.add_parser("server", help="Run the Polos server", description="Run the Polos server.")
    server_commands = server.add_subparsers(dest="server_command", metavar="SUBCOMMAND")
    start = server_commands.add_parser(
        "start",
        help="Start everything: database, broker, HTTP API, worker, beat",
        description=(
            "Start the Polos server in the foreground: migrate the database, create a default project and "
            "API key on first start, start an embedded Redis-protocol broker (unless a broker URL is given), "
            "the ASGI server, a Celery worker and Celery beat.  Ctrl-C stops everything."
        ),
    )
    start.add_argument("--host", help="Interface of the HTTP server (env POLOS_HOST; default 127.0.0.1)")
    start.add_argument("--port", type=int, help="Port of the HTTP server (env POLOS_PORT; default 8080)")
    _common(start)
    start.add_argument(
        "--broker-url",
        metavar="URL",
        help="Use this Celery broker instead of starting the embedded one (env POLOS_BROKER_URL, else REDIS_URL)",
    )
    start.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="Worker processes of the Celery worker (env POLOS_WORKERS; default 2)",
    )
    start.add_argument("--no-beat", action="store_true", help="Do not start Celery beat (env POLOS_NO_BEAT=1)")
    start.add_argument("--no-worker", action="store_true", help="Do not start a Celery worker (env POLOS_NO_WORKER=1)")
    start.add_argument(
        "-A",
        "--workflows",
        action="append",
        metavar="MODULE",
        help="Import MODULE for its workflows; repeatable (env POLOS_WORKFLOW_MODULES, comma separated)",
    )
    start.add_argument(
        "--queues", metavar="Q1,Q2", help="Celery queues the worker consumes (env POLOS_QUEUES; default celery)"
    )
    start.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="Log level of the child processes; info adds access logs (env POLOS_LOG_LEVEL; default warning)",
    )
    start.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="On stop, how long children may finish their work before they are killed "
        "(env POLOS_SHUTDOWN_GRACE; default 10)",
    )
    start.set_defaults(func=cmd_server_start)
    server.set_defaults(func=lambda args: _usage(server))

    worker = commands.add_parser(
        "worker",
        help="Run a Celery worker of the bundled project",
        description="Run a Celery worker for the server of POLOS_HOME (or the configured database and broker).",
    )
    worker.add_argument(
        "-A",
        "--workflows",
        action="append",
        metavar="MODULE",
        help="Import MODULE for its workflows; repeatable (env POLOS_WORKFLOW_MODULES, comma separated)",
    )
    worker.add_argument(
        "-Q", "--queues", metavar="Q1,Q2", help="Celery queues to consume (env POLOS_QUEUES; default celery)"
    )
    worker.add_argument(
        "-c", "--concurrency", type=_positive_int, metavar="N", help="Worker processes (env POLOS_WORKERS; default 2)"
    )
    worker.add_argument("-n", "--hostname", help="Celery node name (default worker-<pid>@<host>)")
    worker.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="Log level (env POLOS_LOG_LEVEL; default info)",
    )
    _common(worker, broker=True)
    worker.set_defaults(func=cmd_worker)

    migrate = commands.add_parser("migrate", help="Apply database migrations", description="Apply database migrations.")
    _common(migrate)
    migrate.add_argument("args", nargs=argparse.REMAINDER, help="Arguments passed to Django's migrate")
    migrate.set_defaults(func=cmd_migrate)

    createkey = commands.add_parser(
        "createkey", help="Create an API key and print it once", description="Create an API key and print it once."
    )
    createkey.add_argument(
        "--project", help="Project id or name; a new name creates the project (default: the local project)"
    )
    createkey.add_argument("--name", default="", help="A label for the key")
    _common(createkey)
    createkey.set_defaults(func=cmd_createkey)

    manage = commands.add_parser(
        "manage", help="Run a manage.py command of the bundled project", description="Run a manage.py command."
    )
    _common(manage)
    manage.add_argument("args", nargs=argparse.REMAINDER, help="The command and its arguments")
    manage.set_defaults(func=cmd_manage)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _error(message: str, code: int = 1) -> int:
    sys.stderr.write(f"polos: {message}\n")
    return code


def _apply_env(args: argparse.Namespace) -> Path:
    """Export the options Django settings read (POLOS_HOME, POLOS_DATABASE_URL, POLOS_BROKER_URL)."""
    home = _home(args.home)
    os.environ["POLOS_HOME"] = str(home)
    if args.database_url:
        os.environ["POLOS_DATABASE_URL"] = args.database_url
    if getattr(args, "broker_url", None):
        os.environ["POLOS_BROKER_URL"] = args.broker_url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    return home


def _workflow_modules(extra: list[str] | None) -> str:
    modules = [m.strip() for m in (_env("POLOS_WORKFLOW_MODULES") or "").split(",") if m.strip()]
    for item in extra or []:
        modules += [m.strip() for m in item.split(",") if m.strip() and m.strip() not in modules]
    return ",".join(modules)


def cmd_server_start(args: argparse.Namespace) -> int:
    from .server.supervisor import ServerOptions, Supervisor

    try:
        port = args.port if args.port is not None else int(_env("POLOS_PORT") or 8080)
        if not 0 < port < 65536:
            return _error(f"invalid port {port}", 2)
        workers = args.workers or int(_env("POLOS_WORKERS") or 2)
        grace = args.grace if args.grace is not None else float(_env("POLOS_SHUTDOWN_GRACE") or 10)
    except ValueError as error:
        return _error(f"invalid number in the environment: {error}", 2)
    extra_env = {}
    modules = _workflow_modules(args.workflows)
    if modules:
        extra_env["POLOS_WORKFLOW_MODULES"] = modules
    log_level = args.log_level or _env("POLOS_LOG_LEVEL") or "warning"
    extra_env["POLOS_LOG_LEVEL"] = log_level.upper()
    options = ServerOptions(
        home=_home(args.home),
        host=args.host or _env("POLOS_HOST") or "127.0.0.1",
        port=port,
        database_url=args.database_url or _env("POLOS_DATABASE_URL"),
        broker_url=args.broker_url or _env("POLOS_BROKER_URL") or _env("REDIS_URL"),
        workers=workers,
        beat=not (args.no_beat or _flag("POLOS_NO_BEAT")),
        worker=not (args.no_worker or _flag("POLOS_NO_WORKER")),
        queues=args.queues or _env("POLOS_QUEUES"),
        log_level=log_level,
        grace=grace,
        extra_env=extra_env,
    )
    return Supervisor(options).run()


def _flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def cmd_worker(args: argparse.Namespace) -> int:
    home = _apply_env(args)
    os.environ["POLOS_ROLE"] = "worker"
    from .server.runfiles import running_server

    if not (_env("POLOS_BROKER_URL") or _env("REDIS_URL") or running_server(home)):
        return _error(
            f"no broker: start `polos server start` for {home} first, or give --broker-url / POLOS_BROKER_URL", 2
        )
    modules = _workflow_modules(args.workflows)
    if modules:
        os.environ["POLOS_WORKFLOW_MODULES"] = modules
    level = args.log_level or (_env("POLOS_LOG_LEVEL") or "info").lower()
    concurrency = args.concurrency or int(_env("POLOS_WORKERS") or 2)
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "polos_django.server.celery:app",
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "-O",
        "fair",
        "--prefetch-multiplier=1",
        f"--hostname={args.hostname or f'worker-{os.getpid()}@%h'}",
        "--without-gossip",
        "--without-mingle",
        f"--loglevel={level}",
    ]
    queues = args.queues or _env("POLOS_QUEUES")
    if queues:
        argv.append(f"--queues={queues}")
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # the worker replaces this process: signals reach Celery directly
    return 0  # not reached


def _django(check_database: bool = True) -> int | None:
    """Set Django up for the bundled project; an exit status if the database cannot be reached."""
    import django

    django.setup()
    if check_database:
        from .server import checks

        try:
            checks.check_database()
        except checks.UnreachableError as error:
            return _error(str(error), 2)
    return None


def cmd_migrate(args: argparse.Namespace) -> int:
    _apply_env(args)
    failed = _django()
    if failed is not None:
        return failed
    from django.core.management import execute_from_command_line

    execute_from_command_line(["polos migrate", "migrate", *args.args])
    return 0


def cmd_createkey(args: argparse.Namespace) -> int:
    _apply_env(args)
    failed = _django()
    if failed is not None:
        return failed
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        call_command("migrate", interactive=False, verbosity=0)  # usable before the first server start
        call_command("polos_createkey", project=args.project, name=args.name)
    except CommandError as error:
        return _error(str(error), 1)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _apply_env(args)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["polos manage", *args.args])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from importlib.metadata import version

        print(f"polos-django {version('polos-django')}")
        return 0
    if not getattr(args, "func", None):
        return _usage(parser)
    result: Any = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
