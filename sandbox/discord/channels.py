"""Channels, their permission overwrites and their invites.

Rules from Discord's documentation that a provisioning client runs into:

- creating a channel needs MANAGE_CHANNELS; setting overwrites needs MANAGE_ROLES too, and a bot
  may only allow or deny permissions it has itself (in the guild, or in the parent category);
  only administrators may put MANAGE_ROLES itself in an overwrite (2021-01 permission hotfix);
- ``parent_id`` must be a category of the same guild, with fewer than 50 channels;
- text-like channel names are normalized (see ``names.py``), voice and category names are not;
- an invite's ``role_ids`` need MANAGE_ROLES and roles below the bot's highest role.
"""

from __future__ import annotations

import time
from typing import Any

from sandbox.discord import errors
from sandbox.discord import permissions as perms
from sandbox.discord.guilds import audit_reason
from sandbox.discord.names import stored_channel_name
from sandbox.discord.state import (
    CATEGORY,
    CREATABLE_TYPES,
    TOPIC_LIMITS,
    Channel,
    DiscordState,
    Guild,
    Invite,
    Member,
    Overwrite,
    User,
    iso,
)
from sandbox.http import Request, Response

DEFAULT_INVITE_MAX_AGE = 86400


# -- helpers --------------------------------------------------------------------------------------
def _name(raw: str, channel_type: int) -> str:
    name = stored_channel_name(raw, channel_type)
    if not name:
        # Nothing is left once punctuation is dropped ("!!!"): Discord refuses the name.
        raise errors.invalid_field(
            ("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    return name


def _topic(channel_type: int, topic: str | None) -> str | None:
    if channel_type not in TOPIC_LIMITS:
        return None  # voice channels and categories have no topic; Discord ignores it
    limit = TOPIC_LIMITS[channel_type]
    if topic is not None and len(topic) > limit:
        message = f"Must be {limit} or fewer in length."
        raise errors.invalid_field(("topic",), "BASE_TYPE_MAX_LENGTH", message)
    return topic


def _parent(
    state: DiscordState,
    guild: Guild,
    parent_id: str | None,
    channel_type: int,
    moving: Channel | None = None,
) -> str | None:
    if parent_id is None:
        return None
    parent = guild.channels.get(parent_id)
    if parent is None or parent.type != CATEGORY:
        raise errors.invalid_field(("parent_id",), "CHANNEL_PARENT_INVALID", "Not a category")
    if channel_type == CATEGORY:
        message = "Categories cannot have subcategories"
        raise errors.invalid_field(("parent_id",), "CHANNEL_PARENT_INVALID", message)
    children = [c for c in guild.channels.values() if c.parent_id == parent_id and c is not moving]
    limit = state.settings.max_channels_per_category
    if len(children) >= limit:
        message = f"Maximum number of channels in category reached ({limit})"
        raise errors.invalid_field(("parent_id",), "CHANNEL_PARENT_MAX_CHANNELS", message)
    return parent_id


def _bits(value: Any, path: tuple[str | int, ...]) -> int:
    if value is None:
        return 0
    if value < 0:
        message = "int value should be greater than or equal to 0."
        raise errors.invalid_field(path, "NUMBER_TYPE_MIN", message)
    return value & perms.ALL


def _overwrites(guild: Guild, items: list[dict[str, Any]]) -> list[Overwrite]:
    """Overwrites from a body; ``type`` may be left out and is then inferred, as Discord does."""
    result: dict[str, Overwrite] = {}
    for index, item in enumerate(items):
        result[item["id"]] = _overwrite(
            guild, item["id"], item.get("type"), item, ("permission_overwrites", index)
        )
    return list(result.values())


def _overwrite(
    guild: Guild, target: str, kind: int | None, item: dict[str, Any], path: tuple[str | int, ...]
) -> Overwrite:
    if kind is None:
        kind = 0 if target in guild.roles else 1
    # An id that is not a role (type 0) or member (type 1) of the guild: "Unknown Overwrite".
    if (kind == 0 and target not in guild.roles) or (kind == 1 and target not in guild.members):
        raise errors.unknown_overwrite()
    return Overwrite(
        target,
        kind,
        _bits(item.get("allow"), (*path, "allow")),
        _bits(item.get("deny"), (*path, "deny")),
    )


def _check_grants(
    state: DiscordState,
    guild: Guild,
    changed: list[Overwrite],
    reference: int,
    channel: Channel | None = None,
) -> None:
    """A bot may only allow/deny permissions it has (``reference``: guild or parent category)."""
    if state.guild_permissions(guild) & perms.ADMINISTRATOR:
        return
    if channel is not None and _has_manage_roles_overwrite(state, guild, channel):
        return  # Discord's exception: a MANAGE_ROLES overwrite for the bot in that channel
    for overwrite in changed:
        bits = overwrite.allow | overwrite.deny
        if bits & perms.MANAGE_ROLES or bits & ~reference:
            raise errors.missing_permissions()


def _has_manage_roles_overwrite(state: DiscordState, guild: Guild, channel: Channel) -> bool:
    member = guild.members.get(state.bot_id)
    targets = {(1, state.bot_id)} | {(0, r) for r in (member.roles if member else [])}
    return any(
        (o.type, o.id) in targets and o.allow & perms.MANAGE_ROLES
        for o in channel.overwrites.values()
    )


def _reference_permissions(state: DiscordState, guild: Guild, parent_id: str | None) -> int:
    if parent_id is not None and parent_id in guild.channels:
        return state.channel_permissions(guild, guild.channels[parent_id])
    return state.guild_permissions(guild)


def _changed(channel: Channel | None, overwrites: list[Overwrite]) -> list[Overwrite]:
    if channel is None:
        return overwrites
    return [o for o in overwrites if channel.overwrites.get(o.id) != o]


def _next_position(guild: Guild, parent_id: str | None, channel_type: int) -> int:
    siblings = [
        c.position
        for c in guild.channels.values()
        if c.parent_id == parent_id and (c.type == CATEGORY) == (channel_type == CATEGORY)
    ]
    return max(siblings, default=-1) + 1


# -- guild channels -------------------------------------------------------------------------------
def list_channels(state: DiscordState, request: Request, body: Any) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    return Response(200, [channel.to_json() for channel in guild.sorted_channels()])


def create_channel(state: DiscordState, request: Request, body: dict[str, Any]) -> Response:
    guild = state.guild_for_bot(request.params["guild_id"])
    have = state.guild_permissions(guild)
    state.require(have, perms.MANAGE_CHANNELS)
    items = body.get("permission_overwrites") or []
    if items:
        state.require(have, perms.MANAGE_ROLES)
    channel_type = body.get("type")
    channel_type = 0 if channel_type is None else channel_type
    if channel_type not in CREATABLE_TYPES:
        choices = "{" + ", ".join(str(t) for t in CREATABLE_TYPES) + "}"
        message = f"Value must be one of {choices}."
        raise errors.invalid_field(("type",), "BASE_TYPE_CHOICES", message)
    name = _name(body["name"], channel_type)
    topic = _topic(channel_type, body.get("topic"))
    parent_id = _parent(state, guild, body.get("parent_id"), channel_type)
    overwrites = _overwrites(guild, items)
    _check_grants(state, guild, overwrites, _reference_permissions(state, guild, parent_id))
    if len(guild.channels) >= state.settings.max_channels:
        raise errors.maximum_reached(30013, "guild channels", state.settings.max_channels)
    position = body.get("position")
    if position is None:
        position = _next_position(guild, parent_id, channel_type)
    channel = Channel(
        state.new_id(),
        guild.id,
        channel_type,
        name,
        position,
        topic=topic,
        parent_id=parent_id,
        nsfw=bool(body.get("nsfw")),
        rate_limit_per_user=body.get("rate_limit_per_user") or 0,
        bitrate=body.get("bitrate") or 64000,
        user_limit=body.get("user_limit") or 0,
        overwrites={o.id: o for o in overwrites},
    )
    guild.channels[channel.id] = channel
    state.counters["channels_created"] += 1
    state.audit(guild, "CHANNEL_CREATE", channel.id, audit_reason(request))
    return Response(201, channel.to_json())


# -- one channel ----------------------------------------------------------------------------------
def get_channel(state: DiscordState, request: Request, body: Any) -> Response:
    _, channel = state.channel_for_bot(request.params["channel_id"])
    return Response(200, channel.to_json())


def update_channel(state: DiscordState, request: Request, body: dict[str, Any]) -> Response:
    guild, channel = state.channel_for_bot(request.params["channel_id"])
    have = state.channel_permissions(guild, channel)
    state.require(have, perms.MANAGE_CHANNELS)
    new_type = channel.type if body.get("type") is None else body["type"]
    if new_type != channel.type and {new_type, channel.type} != {0, 5}:
        message = "Only text and announcement channels can be converted into each other."
        raise errors.invalid_field(("type",), "CHANNEL_TYPE_INVALID", message)
    name = _name(body["name"], new_type) if body.get("name") is not None else None
    topic = _topic(new_type, body["topic"]) if "topic" in body else channel.topic
    parent_id = channel.parent_id
    if "parent_id" in body:
        parent_id = _parent(state, guild, body["parent_id"], new_type, moving=channel)
    overwrites: list[Overwrite] | None = None
    if body.get("permission_overwrites") is not None:
        state.require(have, perms.MANAGE_ROLES)
        overwrites = _overwrites(guild, body["permission_overwrites"])
        reference = _reference_permissions(state, guild, channel.parent_id)
        _check_grants(state, guild, _changed(channel, overwrites), reference, channel)
    # Everything is checked: apply at once, so a refused edit changes nothing.
    channel.type = new_type
    if name is not None:
        channel.name = name
    channel.topic = _topic(new_type, topic)
    channel.parent_id = parent_id
    if overwrites is not None:
        channel.overwrites = {o.id: o for o in overwrites}
    for field in ("position", "nsfw", "rate_limit_per_user", "bitrate", "user_limit"):
        if body.get(field) is not None:
            setattr(channel, field, body[field])
    state.audit(guild, "CHANNEL_UPDATE", channel.id, audit_reason(request))
    return Response(200, channel.to_json())


def delete_channel(state: DiscordState, request: Request, body: Any) -> Response:
    guild, channel = state.channel_for_bot(request.params["channel_id"])
    state.require(state.channel_permissions(guild, channel), perms.MANAGE_CHANNELS)
    remove_channel(state, guild, channel)
    state.audit(guild, "CHANNEL_DELETE", channel.id, audit_reason(request))
    return Response(200, channel.to_json())


def remove_channel(state: DiscordState, guild: Guild, channel: Channel) -> None:
    """Take ``channel`` out of the guild (the bot's call or staff's hand)."""
    del guild.channels[channel.id]
    for child in guild.channels.values():
        if child.parent_id == channel.id:
            child.parent_id = None  # Discord keeps the children, outside any category
    for code in [code for code, invite in guild.invites.items() if invite.channel_id == channel.id]:
        del guild.invites[code]
    for key, value in guild.settings.items():
        if key.endswith("_channel_id") and value == channel.id:
            guild.settings[key] = None
    state.counters["channels_deleted"] += 1


# -- overwrites -----------------------------------------------------------------------------------
def put_overwrite(state: DiscordState, request: Request, body: dict[str, Any]) -> Response:
    guild, channel = state.channel_for_bot(request.params["channel_id"])
    state.require(state.channel_permissions(guild, channel), perms.MANAGE_ROLES)
    target = request.params["overwrite_id"]
    overwrite = _overwrite(guild, target, body.get("type"), body, ())
    reference = _reference_permissions(state, guild, channel.parent_id)
    _check_grants(state, guild, _changed(channel, [overwrite]), reference, channel)
    channel.overwrites[target] = overwrite
    state.audit(guild, "CHANNEL_OVERWRITE_UPDATE", channel.id, audit_reason(request))
    return Response(204)


def delete_overwrite(state: DiscordState, request: Request, body: Any) -> Response:
    guild, channel = state.channel_for_bot(request.params["channel_id"])
    state.require(state.channel_permissions(guild, channel), perms.MANAGE_ROLES)
    target = request.params["overwrite_id"]
    if target not in channel.overwrites:
        raise errors.unknown_overwrite()
    del channel.overwrites[target]
    state.audit(guild, "CHANNEL_OVERWRITE_DELETE", channel.id, audit_reason(request))
    return Response(204)


# -- invites --------------------------------------------------------------------------------------
def _invite_json(state: DiscordState, guild: Guild, invite: Invite) -> dict[str, Any]:
    channel = guild.channels[invite.channel_id]
    expires = invite.created_at + invite.max_age if invite.max_age else None
    data: dict[str, Any] = {
        "type": 0,
        "code": invite.code,
        "inviter": state.users[invite.inviter_id].to_json(),
        "max_age": invite.max_age,
        "created_at": iso(invite.created_at),
        "expires_at": iso(expires) if expires else None,
        "flags": 0,
        "guild": {
            "id": guild.id,
            "name": guild.name,
            "splash": None,
            "banner": None,
            "description": guild.settings.get("description"),
            "icon": None,
            "features": [],
            "verification_level": guild.settings.get("verification_level", 0),
            "vanity_url_code": None,
            "nsfw_level": 0,
            "nsfw": False,
            "premium_subscription_count": 0,
        },
        "guild_id": guild.id,
        "channel": {"id": channel.id, "type": channel.type, "name": channel.name},
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "temporary": invite.temporary,
    }
    if invite.role_ids:
        roles = [guild.roles[r] for r in invite.role_ids if r in guild.roles]
        data["roles"] = [
            {
                "id": role.id,
                "name": role.name,
                "position": role.position,
                "color": role.color,
                "colors": role.to_json()["colors"],
                "icon": None,
                "unicode_emoji": None,
            }
            for role in roles
        ]
    return data


def list_invites(state: DiscordState, request: Request, body: Any) -> Response:
    guild, channel = state.channel_for_bot(request.params["channel_id"])
    state.require(state.channel_permissions(guild, channel), perms.MANAGE_CHANNELS)
    now = time.time()
    invites = [
        _invite_json(state, guild, invite)
        for invite in guild.invites.values()
        if invite.channel_id == channel.id and not invite.expired(now)
    ]
    return Response(200, invites)


def list_guild_invites(state: DiscordState, request: Request, body: Any) -> Response:
    """Every live invite of the server, of every channel (MANAGE_GUILD)."""
    guild = state.guild_for_bot(request.params["guild_id"])
    state.require(state.guild_permissions(guild), perms.MANAGE_GUILD)
    now = time.time()
    invites = [
        _invite_json(state, guild, invite)
        for invite in guild.invites.values()
        if not invite.expired(now)
    ]
    return Response(200, invites)


def delete_invite(state: DiscordState, request: Request, body: Any) -> Response:
    """Revoke an invite by its code: MANAGE_CHANNELS on its channel or MANAGE_GUILD; 200 with
    the invite as it was. A code no server has (never made, deleted, used up) or one past its
    expiry is 10006 Unknown Invite, as Discord drops an expired invite."""
    code = request.params["code"]
    found = _live_invite(state, code, time.time())
    if found is None:
        raise errors.unknown_invite()
    guild, invite = found
    if state.bot_id not in guild.members:
        raise errors.missing_permissions()  # a code anyone may resolve, a server not ours
    channel = guild.channels[invite.channel_id]
    on_channel = state.channel_permissions(guild, channel) & perms.MANAGE_CHANNELS
    if not on_channel and not state.guild_permissions(guild) & perms.MANAGE_GUILD:
        raise errors.missing_permissions()
    answer = _invite_json(state, guild, invite)
    del guild.invites[code]
    state.counters["invites_deleted"] += 1
    state.audit(guild, "INVITE_DELETE", code, audit_reason(request))
    return Response(200, answer)


def accept_invite(state: DiscordState, code: str, username: str) -> dict[str, Any]:
    """A person opens the invite link (control API): they join the server (a new user named
    ``username``, or the one of that name already known) with the invite's roles; a use is
    counted and an invite used up (``max_uses``) or expired is gone, as in Discord."""
    if not isinstance(username, str) or not username.strip():
        raise ValueError("username must be a non-empty string")
    now = time.time()
    found = _live_invite(state, code, now)
    if found is None:
        raise LookupError(f"no valid invite {code}")
    guild, invite = found
    user = next((u for u in state.users.values() if u.username == username), None)
    if user is None:
        user = User(state.new_id(), username)
        state.users[user.id] = user
    member = guild.members.get(user.id)
    if member is None:
        member = Member(user.id, [], now)
        guild.members[user.id] = member
    for role_id in invite.role_ids:
        if role_id in guild.roles and role_id not in member.roles:
            member.roles.append(role_id)
    invite.uses += 1
    if invite.max_uses and invite.uses >= invite.max_uses:
        del guild.invites[code]
    return {"guild_id": guild.id, "user_id": user.id, "roles": list(member.roles)}


def _live_invite(state: DiscordState, code: str, now: float) -> tuple[Guild, Invite] | None:
    """The server and invite of ``code``, or None: unknown, or past its expiry (then dropped,
    as Discord does)."""
    for guild in state.guilds.values():
        invite = guild.invites.get(code)
        if invite is None:
            continue
        if invite.expired(now):
            del guild.invites[code]
            return None
        return guild, invite
    return None


def _invite_roles(state: DiscordState, guild: Guild, raw: Any) -> list[str]:
    if raw is None:
        return []
    # The description also allows a string (form-encoded bodies): comma-separated ids.
    ids = [part.strip() for part in raw.split(",") if part.strip()] if isinstance(raw, str) else raw
    if not ids:
        return []
    state.require(state.guild_permissions(guild), perms.MANAGE_ROLES)
    top = state.top_role_position(guild)
    is_owner = guild.owner_id == state.bot_id
    for index, role_id in enumerate(ids):
        role = guild.roles.get(role_id)
        if role is None or role_id == guild.id:
            message = "Unknown role" if role is None else "@everyone cannot be given"
            raise errors.invalid_field(("role_ids", index), "INVITE_ROLE_INVALID", message)
        # Only roles below the bot's highest role, and never a role that an integration manages.
        if role.managed or (not is_owner and role.position >= top):
            raise errors.missing_permissions()
    return list(dict.fromkeys(ids))


def create_invite(state: DiscordState, request: Request, body: dict[str, Any]) -> Response:
    guild, channel = state.channel_for_bot(request.params["channel_id"])
    state.require(state.channel_permissions(guild, channel), perms.CREATE_INSTANT_INVITE)
    if channel.type == CATEGORY:
        raise errors.wrong_channel_type()
    role_ids = _invite_roles(state, guild, body.get("role_ids"))
    max_age = body.get("max_age")
    max_age = DEFAULT_INVITE_MAX_AGE if max_age is None else max_age
    max_uses = body.get("max_uses") or 0
    temporary = bool(body.get("temporary"))
    now = time.time()
    for code in [code for code, invite in guild.invites.items() if invite.expired(now)]:
        del guild.invites[code]
    if not body.get("unique"):
        # Without ``unique``, Discord hands back an invite it already made with the same settings.
        for invite in guild.invites.values():
            same = (invite.channel_id, invite.inviter_id, invite.max_age, invite.max_uses)
            if same == (channel.id, state.bot_id, max_age, max_uses) and (
                invite.temporary,
                invite.role_ids,
            ) == (temporary, role_ids):
                return Response(200, _invite_json(state, guild, invite))
    if len(guild.invites) >= state.settings.max_invites:
        raise errors.maximum_reached(30016, "invites", state.settings.max_invites)
    invite = Invite(
        state.invite_code(),
        guild.id,
        channel.id,
        state.bot_id,
        max_age,
        max_uses,
        temporary,
        role_ids,
        now,
    )
    guild.invites[invite.code] = invite
    state.counters["invites_created"] += 1
    state.audit(guild, "INVITE_CREATE", invite.code, audit_reason(request))
    return Response(200, _invite_json(state, guild, invite))
