"""Whether the bot can work in a staff-made Discord server: in it, holding every permission the
steps need.

One check, used by the step that binds a course to its server (``SETUP_DISCORD_SERVER``) and by
the pool when staff register a server (``manage.py discord_servers add``, the admin), so that a
server refused by one is refused by the other, with the same message and invite link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from integrations.discord.client import DiscordClient
from integrations.discord.permissions import (
    ADMINISTRATOR,
    bot_invite_url,
    missing_permissions,
    permissions_of,
)
from integrations.errors import NotFoundError
from provisioning.errors import ProvisioningConfigError


@dataclass(frozen=True)
class BotAccess:
    guild: dict[str, Any]  # the server as GET /guilds/{id} answers it (name, roles)
    bot_id: str


def discord_bot_access_check(*, discord: DiscordClient, guild_id: str, then: str) -> BotAccess:
    """Read the server, the bot and its membership; raise what to do when the bot cannot work.

    ``then`` ends the message with the caller's next step ("retry the course", "add it again").
    The step needs the server itself (its roles, to rename it), so it reads it whole.
    """
    try:
        guild = discord.get_guild(guild_id)
    except NotFoundError as exc:
        raise _not_in_server(guild_id, then) from exc
    bot_id = discord.get_current_user()["id"]
    member = discord.get_member(guild_id, bot_id)
    _require(permissions_of(member["roles"], guild["roles"], guild_id), guild_id, then)
    return BotAccess(guild=guild, bot_id=bot_id)


def discord_bot_membership_check(*, discord: DiscordClient, guild_id: str, then: str) -> None:
    """The same verdict as :func:`discord_bot_access_check` in ONE call, for the pool: the bot's
    own entry for the server carries its permissions there (from its roles)."""
    entry = discord.get_my_guild(guild_id)
    if entry is None:
        raise _not_in_server(guild_id, then)
    have = int(entry.get("permissions") or 0)
    _require(~0 if have & ADMINISTRATOR else have, guild_id, then)


def _not_in_server(guild_id: str, then: str) -> ProvisioningConfigError:
    invite = bot_invite_url(settings.DISCORD_APPLICATION_ID, guild_id)
    return ProvisioningConfigError(
        f"The bot is not in Discord server {guild_id} (or the server does not exist). "
        f"Ask the server's owner to add it with {invite}, then {then}."
    )


def _require(have: int, guild_id: str, then: str) -> None:
    missing = missing_permissions(have)
    if missing:
        invite = bot_invite_url(settings.DISCORD_APPLICATION_ID, guild_id)
        raise ProvisioningConfigError(
            f"The bot lacks {', '.join(missing)} in Discord server {guild_id}. Give its role "
            f"these permissions in the server settings, or re-add it with {invite}; then {then}."
        )
