"""``manage.py polos_bootstrap``: what ``polos server start`` does before it starts any server.

Checks that the database and broker answer, applies migrations, makes sure a project and an API
key exist for local clients and writes ``$POLOS_HOME/local.json``.  The last line of output is
``POLOS_BOOTSTRAP {json}`` for the supervisor; an unreachable service exits with status 2.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from polos.local import LocalSettings, local_settings_path, read_local_settings, write_local_settings

from ...server.checks import UnreachableError, check_broker, check_database

MARKER = "POLOS_BOOTSTRAP "


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # run explicitly, after the services answer
    help = "Check services, migrate, and create the default project and API key (used by `polos server start`)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--api-url", help="URL written to local.json (default: from POLOS_HOST/POLOS_PORT)")
        parser.add_argument("--home", help="Where local.json goes (default: POLOS_HOME)")
        parser.add_argument("--no-broker-check", action="store_true", help="Do not check the broker")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            check_database()
            if not options["no_broker_check"]:
                check_broker(settings.CELERY_BROKER_URL)
        except UnreachableError as error:
            raise CommandError(str(error), returncode=2) from None
        # System checks once here, as runserver would (the worker and beat start with --skip-checks).
        self.check(display_num_errors=False, fail_level=checks.ERROR)
        call_command("migrate", interactive=False, verbosity=0)
        migrated = time.monotonic()

        from ...keys import create_key, default_project, verify_key

        home = options["home"] or str(getattr(settings, "POLOS_HOME", "")) or None
        api_url = options["api_url"] or getattr(settings, "POLOS_API_URL", "http://127.0.0.1:8080")
        try:
            local = read_local_settings(home)
        except Exception:  # unreadable: replaced below
            local = None
        project, project_created = default_project(local.project_id if local else None)
        api_key = None
        existing = verify_key(local.api_key) if local else None
        if existing is None or existing.project_id != project.pk:
            _, api_key = create_key(project, name="local")
            plaintext = api_key
        else:
            plaintext = local.api_key if local else ""
        new_settings = LocalSettings(api_url=api_url, project_id=project.pk, api_key=plaintext)
        if local != new_settings:
            write_local_settings(new_settings, home)
        report = {
            "project_id": project.pk,
            "project_created": project_created,
            "api_key": api_key,  # only when created now: shown once
            "local_file": str(local_settings_path(home)),
            "migrate_seconds": round(migrated - started, 3),
        }
        self.stdout.write(MARKER + json.dumps(report))
