"""``manage.py create_api_key NAME``: make a key for an integrator and print it, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed alone on the last line, and only this once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who will use the key, e.g. 'Moodle'.")
        parser.add_argument(
            "--admin",
            action="store_true",
            help="An admin key: it sees and acts on every course, not only those it created.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not 1 <= len(name) <= 100:
            raise CommandError("Give a name of 1 to 100 characters.")
        api_key, raw_key = api_key_create(name=name, is_admin=options["admin"])
        kind = "admin API key (sees every course)" if api_key.is_admin else "API key"
        self.stderr.write(
            f"Created {kind} #{api_key.pk} '{api_key.name}'. Send it in the x-api-key header. "
            "It is shown only now: store it in a secret manager."
        )
        # Alone on the last line of stdout, so that scripts can take it with `tail -n 1`.
        self.stdout.write(raw_key)
