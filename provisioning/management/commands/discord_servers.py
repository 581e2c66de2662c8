"""``manage.py discord_servers add GUILD_ID | remove GUILD_ID | list``: the pool of staff-made
Discord servers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.errors import IntegrationError
from provisioning.models import DiscordServer
from provisioning.pool import (
    discord_server_add,
    discord_server_counts,
    discord_server_remove,
    pool_refill_hint,
)


class Command(BaseCommand):
    help = "Register staff-made Discord servers in the pool, take one out, or list the pool."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser(
            "add", help="Register a server, after checking that the bot is in it with its rights."
        )
        add.add_argument("guild_id")
        add.add_argument("--name", default="")
        remove = actions.add_parser("remove", help="Take a server no course uses out of the pool.")
        remove.add_argument("guild_id")
        actions.add_parser("list", help="List the pool, with its counts.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "add":
                server = discord_server_add(guild_id=options["guild_id"], name=options["name"])
                self.stdout.write(f"Server {server.guild_id} is {server.status}: the bot is in it.")
            elif action == "remove":
                discord_server_remove(guild_id=options["guild_id"])
                self.stdout.write(f"Server {options['guild_id']} is out of the pool.")
            else:
                self._list()
        except (ValueError, IntegrationError) as exc:
            raise CommandError(str(exc)) from exc

    def _list(self) -> None:
        servers = DiscordServer.objects.select_related("course")
        if not servers:
            self.stdout.write("The pool is empty.")
        for server in servers:
            owner = f" by {server.course} ({server.course_id})" if server.course else ""
            self.stdout.write(f"{server.guild_id}  {server.status:<9} {server.name}{owner}")
        counts = discord_server_counts()
        self.stdout.write(f"{counts.available} available, {counts.claimed} claimed.")
        if counts.available < settings.POOL_LOW_WATERMARK:
            self.stdout.write(
                f"Warning: fewer than POOL_LOW_WATERMARK={settings.POOL_LOW_WATERMARK} "
                f"available: {pool_refill_hint()}."
            )
