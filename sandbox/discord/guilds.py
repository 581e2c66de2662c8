"""Users, guilds, members and roles.

Every handler gets the state, the request and its body, already checked against the official
description (see ``platform.FakeDiscord._serve``), and answers as Discord does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from sandbox.discord import errors
from sandbox.discord import permissions as perms
from sandbox.discord.state import DiscordState, Guild, Role, iso
from sandbox.http import Request, Response


def audit_reason(request: Request) -> str | None:
    """``X-Audit-Log-Reason`` (URL-encoded by the client), as the audit log shows it."""
    raw = request.header("X-Audit-Log-Reason")
    return unquote(raw)[:512] if raw else None


def _flag(request: Request, name: str) -> bool:
    value = request.query.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise errors.invalid_field((name,), "BOOLEAN_TYPE_CONVERT", "Must be either true or false.")
    return value in ("true", "1", "yes")


def guild_json(state: DiscordState, guild: Guild, with_counts: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": guild.id,
        "name": guild.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "owner_id": guild.owner_id,
        "application_id": None,
        "region": "deprecated",
        "widget_enabled": False,
        "widget_channel_id": None,
        "mfa_level": 0,
        "roles": [role.to_json() for role in guild.sorted_roles()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "nsfw": False,
        "incidents_data": None,
        "hub_type": None,
        **guild.settings,
    }
    if with_counts:
        data["approximate_member_count"] = len(guild.members)
        data["approximate_presence_count"] = 0
    return data


# -- users ----------------------------------------------------------------------------------------
def get_me(state: DiscordState, request: Request, body: Any) -> Response:
    user = state.bot.to_json()
    user.update(mfa_enabled=False, locale="en-US", verified=True, email=None, bio="")
    return Response(200, user)


def list_my_guilds(state: DiscordState, request: Request, body: Any) -> Response:
    limit_text = request.query.get("limit", "200")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 200:
        raise errors.invalid_field(
            ("limit",), "NUMBER_TYPE_MAX", "int value should be between 1 and 200."
        )
    with_counts = _flag(request, "with_counts")
    guilds = sorted(
        (g for g in state.guilds.values() if state.bot_id in g.members), key=lambda g: int(g.id)
    )
    for name in ("before", "after"):
        value = request.query.get(name)
        if value is not None and not value.isdigit():
            message = f'Value "{value}" is not snowflake.'
            raise errors.invalid_field((name,), "NUMBER_TYPE_COERCE", message)
    limit = int(limit_text)
    # Discord pages by id: ``after`` gives the next ids up, ``before`` the ones just below.
    if "before" in request.query:
        before = int(request.query["before"])
        guilds = [g for g in guilds if int(g.id) < before][-limit:]
    else:
        after = int(request.query.get("after", "0"))
        guilds = [g for g in guilds if int(g.id) > after][:limit]
    out = []
    for guild in guilds:
        item: dict[str, Any] = {
            "id": guild.id,
            "name": guild.name,
            "icon": None,
            "banner": None,
            "owner": guild.owner_id == state.bot_id,
            "permissions": str(state.guild_permissions(guild)),
            "features": [],
        }
        if with_counts:
            item["approximate_member_count"] = len(guild.members)
            item["approximate_presence_count"] = 0
        out.append(item)
    return Response(200, out)


def get_my_application(state: DiscordState, request: Request, body: Any) -> Response:
    """The bot's application (Get Current Application): the required fields of the official
    ``PrivateApplicationResponse``. A bot made since 2020 has the application's id as its own."""
    bot = state.bot.to_json()
    return Response(
        200,
        {
            "id": state.bot_id,
            "name": bot["username"],
            "icon": None,
            "description": "",
            "type": None,
            "bot": bot,
            "verify_key": "0" * 64,
            "flags": 0,
            "flags_new": "0",
            "bot_public": False,
            "bot_require_code_grant": False,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "owner": state.users[state.staff_id].to_json(),
            "approximate_guild_count": sum(
                1 for guild in state.guilds.values() if state.bot_id in guild.members
            ),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
        },
    )


# -- guilds ---------------------------------------------------------------------------------------
def create_guild(state: DiscordState, request: Request, body: Any) -> Response:
    # Since 2025-07-28 apps cannot create guilds: Discord removed POST /guilds from its docs and
    # its OpenAPI description, and bots calling it are told "Bots cannot use this endpoint"
    # (403, code 20001), observed by bot developers right after the cut-off. Answering that
    # rather than a bare 404 tells the client the truth: the route exists, bots may not use it.
    raise errors.bots_cannot_use()


def get_guild(state: DiscordState, request: Request, body: Any) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    return Response(200, guild_json(state, guild, _flag(request, "with_counts")))


_CHANNEL_SETTINGS = (
    "afk_channel_id",
    "system_channel_id",
    "rules_channel_id",
    "public_updates_channel_id",
    "safety_alerts_channel_id",
)
_PLAIN_SETTINGS = (
    "description",
    "afk_timeout",
    "verification_level",
    "default_message_notifications",
    "explicit_content_filter",
    "preferred_locale",
    "system_channel_flags",
    "premium_progress_bar_enabled",
)


def update_guild(state: DiscordState, request: Request, body: dict[str, Any]) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    state.require(state.guild_permissions(guild), perms.MANAGE_GUILD)
    for name in _CHANNEL_SETTINGS:
        channel_id = body.get(name)
        if channel_id is not None and channel_id not in guild.channels:
            raise errors.invalid_field((name,), "CHANNEL_INVALID", "Unknown channel")
    if "name" in body:
        guild.name = body["name"]
    for name in (*_CHANNEL_SETTINGS, *_PLAIN_SETTINGS):
        if name in body:
            value = body[name]
            if value is None and name in ("afk_timeout", "preferred_locale"):
                continue  # null leaves these as they are
            guild.settings[name] = value
    # Images (icon, banner, splash...) and features are accepted and ignored: the sandbox keeps
    # no files, and features such as COMMUNITY need staff to enable them by hand.
    state.audit(guild, "GUILD_UPDATE", guild.id, audit_reason(request))
    return Response(200, guild_json(state, guild))


def get_member(state: DiscordState, request: Request, body: Any) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    member = guild.members.get(request.params["user_id"])
    if member is None:
        raise errors.unknown_member()
    return Response(
        200,
        {
            "user": state.users[member.user_id].to_json(),
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": list(member.roles),
            "joined_at": iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        },
    )


# -- roles ----------------------------------------------------------------------------------------
def list_roles(state: DiscordState, request: Request, body: Any) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    return Response(200, [role.to_json() for role in guild.sorted_roles()])


def create_role(state: DiscordState, request: Request, body: dict[str, Any]) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    have = state.guild_permissions(guild)
    state.require(have, perms.MANAGE_ROLES)
    if len(guild.roles) >= state.settings.max_roles:
        raise errors.maximum_reached(30005, "guild roles", state.settings.max_roles)
    permissions = body.get("permissions")
    if permissions is None:
        permissions = guild.everyone.permissions  # Discord's default: what @everyone has
    if permissions < 0:
        raise errors.invalid_field(
            ("permissions",), "NUMBER_TYPE_MIN", "int value should be greater than or equal to 0."
        )
    permissions &= perms.ALL
    # A bot cannot hand out permissions it does not have itself.
    if permissions & ~have:
        raise errors.missing_permissions()
    colors = body.get("colors") or {}
    color = colors.get("primary_color")
    if color is None:
        color = body.get("color") or 0
    # New roles go to the bottom (position 1, just above @everyone); the rest move up one.
    for role in guild.roles.values():
        if role.position >= 1:
            role.position += 1
    role = Role(
        state.new_id(),
        body.get("name") or "new role",
        permissions,
        1,
        color=color,
        hoist=bool(body.get("hoist")),
        mentionable=bool(body.get("mentionable")),
    )
    guild.roles[role.id] = role
    state.counters["roles_created"] += 1
    state.audit(guild, "ROLE_CREATE", role.id, audit_reason(request))
    return Response(200, role.to_json())


def delete_role(state: DiscordState, request: Request, body: Any) -> Response:
    """Delete Guild Role: 204. Needs MANAGE_ROLES and a role below the bot's highest one (the
    owner is exempt). @everyone and a role an integration manages (the bot's own) cannot be
    deleted: "Invalid Role" (50028). Discord takes the role off its members and removes the
    overwrites that named it from every channel."""
    guild = state.guild_for_bot(request.params["guild_id"])
    state.require(state.guild_permissions(guild), perms.MANAGE_ROLES)
    role = guild.roles.get(request.params["role_id"])
    if role is None:
        raise errors.unknown_role()
    if role.id == guild.id or role.managed:
        raise errors.invalid_role()
    if guild.owner_id != state.bot_id and role.position >= state.top_role_position(guild):
        raise errors.missing_permissions()
    remove_role(state, guild, role)
    state.audit(guild, "ROLE_DELETE", role.id, audit_reason(request))
    return Response(204)


def remove_role(state: DiscordState, guild: Guild, role: Role) -> None:
    """Take ``role`` out of the guild everywhere it appears (the bot's call or staff's hand)."""
    del guild.roles[role.id]
    for other in guild.roles.values():
        if other.position > role.position:
            other.position -= 1  # the roles above move down: positions stay contiguous
    for member in guild.members.values():
        member.roles = [r for r in member.roles if r != role.id]
    for channel in guild.channels.values():
        channel.overwrites.pop(role.id, None)
    for invite in guild.invites.values():
        invite.role_ids = [r for r in invite.role_ids if r != role.id]
    state.counters["roles_deleted"] += 1
