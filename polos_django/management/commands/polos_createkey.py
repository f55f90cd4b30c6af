"""``manage.py polos_createkey``: create an API key and print it (the only time it is shown)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from polos.local import read_local_settings


class Command(BaseCommand):
    help = "Create an API key for a project and print it once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--project",
            help="Project id or name; a name that matches no project creates one (default: the local project)",
        )
        parser.add_argument("--name", default="", help="A label for the key, shown in the admin")

    def handle(self, *args: Any, **options: Any) -> None:
        from ...keys import create_key, default_project
        from ...models import Project

        wanted = options["project"]
        if wanted:
            project = Project.objects.filter(pk=wanted).first() or Project.objects.filter(name=wanted).first()
            if project is None:
                if wanted.startswith("proj_"):
                    from django.core.management.base import CommandError

                    raise CommandError(f"no project with id {wanted!r}")
                project = Project.objects.create(name=wanted)
                self.stderr.write(f"Created project {project.name!r} ({project.pk})")
        else:
            try:
                local = read_local_settings()
            except Exception:
                local = None
            project, _ = default_project(local.project_id if local else None)
        _, plaintext = create_key(project, name=options["name"])
        self.stderr.write(f"Project ID: {project.pk}\nAPI key (shown once, store it now):")
        self.stdout.write(plaintext)
