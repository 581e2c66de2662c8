"""``manage.py discord_servers add GUILD_ID | list``: the pool of staff-made Discord servers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.discord.permissions import bot_invite_url
from provisioning.models import DiscordServer
from provisioning.pool import discord_server_add


class Command(BaseCommand):
    help = "Register staff-made Discord servers in the pool, or list the pool."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="Register a server the bot was added to.")
        add.add_argument("guild_id")
        add.add_argument("--name", default="")
        actions.add_parser("list", help="List the pool.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            try:
                server = discord_server_add(guild_id=options["guild_id"], name=options["name"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Server {server.guild_id} is {server.status}.")
            return
        servers = DiscordServer.objects.select_related("course")
        if not servers:
            self.stdout.write(
                "The pool is empty. Add the bot to a server with "
                f"{bot_invite_url(settings.DISCORD_APPLICATION_ID)} and register it here."
            )
        for server in servers:
            owner = f" by {server.course} ({server.course_id})" if server.course else ""
            self.stdout.write(f"{server.guild_id}  {server.status:<9} {server.name}{owner}")
