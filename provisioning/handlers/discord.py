"""Discord steps: bind the course to a staff-made server, then its channels and roles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from courses.models import Course, LabGroup
from integrations.discord.names import normalize_channel_name
from integrations.discord.permissions import CHANNEL_MEMBER, SEND_MESSAGES, VIEW_CHANNEL
from provisioning.context import StepContext
from provisioning.discord_access import discord_bot_access_check
from provisioning.models import ExternalResource, ResourceKind
from provisioning.pool import discord_server_bind
from provisioning.resources import Found, resource_ensure, resource_get

DISCORD = ExternalResource.Provider.DISCORD
TEXT_CHANNEL = 0
ROLE_OVERWRITE, MEMBER_OVERWRITE = 0, 1


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    topic: str
    overwrites: tuple[tuple[str, int, int, int], ...] = ()  # (id, type, allow, deny)
    lab_group: LabGroup | None = None

    @property
    def key(self) -> str:
        return normalize_channel_name(self.name)

    def overwrites_json(self) -> list[dict[str, Any]]:
        return [
            {"id": id_, "type": type_, "allow": allow, "deny": deny}
            for id_, type_, allow, deny in self.overwrites
        ]


# "@everyone" and "@here" in a course or group name must not read as (or act as) a mention where
# Discord shows the name: a zero-width space after the "@" keeps the text and defuses it.
MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)


def without_mentions(text: str) -> str:
    return MENTION.sub("@\u200b", text)


def server_name(course: Course) -> str:
    return without_mentions(f"{course.name} · {course.semester}")[:100]


def _reason(ctx: StepContext) -> str:
    return f"Course provisioning: {ctx.course} ({ctx.step.name})"


def setup_discord_server(ctx: StepContext) -> None:
    """Bind the course to its server, check the bot's access and permissions, rename it."""

    def verify_and_rename() -> Found:
        guild_id = discord_server_bind(course=ctx.course)
        access = discord_bot_access_check(
            discord=ctx.discord, guild_id=guild_id, then="retry the course"
        )
        guild, bot_id = access.guild, access.bot_id
        name = server_name(ctx.course)
        original = _original_name_record(ctx, guild_id, guild["name"])
        if guild["name"] != name:
            ctx.discord.rename_guild(guild_id, name, reason=_reason(ctx))
        return Found(
            guild_id,
            url=f"https://discord.com/channels/{guild_id}",
            data={"name": name, "bot_user_id": bot_id, "original_name": original},
        )

    resource_ensure(
        ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server", create=verify_and_rename
    )


def _original_name_record(ctx: StepContext, guild_id: str, current: str) -> str:
    """The server's name before the course renamed it, written on the server's intent before
    the rename: a retry after a crash reads the first name seen, not ours (unless the retry got
    another server). A tear down gives it back to a server staff gave the course explicitly."""
    intent = ExternalResource.objects.get(
        course=ctx.course, provider=DISCORD, kind=ResourceKind.SERVER, key="server"
    )
    if intent.data.get("original_guild_id") != guild_id:
        intent.data = {**intent.data, "original_name": current, "original_guild_id": guild_id}
        intent.save(update_fields=["data", "updated_at"])
    return str(intent.data["original_name"])


def rename_discord_server(ctx: StepContext) -> None:
    """After a rename of the course: the server takes its new name (one read, a write if needed).

    Nothing is created, so there is no intent to record: reading the name first makes a repeat
    (after a crash) cost the read only.
    """
    server = resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")
    name = server_name(ctx.course)
    ctx.heartbeat()
    if ctx.discord.get_guild(server.external_id)["name"] != name:
        ctx.discord.rename_guild(server.external_id, name, reason=_reason(ctx))
    ctx.heartbeat()
    server.data = {**server.data, "name": name}
    server.save(update_fields=["data", "updated_at"])


def _server(ctx: StepContext) -> tuple[str, str]:
    server = resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")
    return server.external_id, server.data["bot_user_id"]


def lecture_channels(ctx: StepContext) -> list[ChannelSpec]:
    guild_id, bot_id = _server(ctx)
    read_only = (
        (guild_id, ROLE_OVERWRITE, 0, SEND_MESSAGES),  # @everyone reads, staff and bot post
        (bot_id, MEMBER_OVERWRITE, CHANNEL_MEMBER, 0),
    )
    return [
        ChannelSpec("announcements", "Announcements from the course staff.", read_only),
        ChannelSpec("general", "Anything about the course."),
        ChannelSpec("lectures", "Lecture slides, recordings and their discussion."),
        ChannelSpec("qa-help", "Questions and answers about the material and assignments."),
    ]


def group_role_name(group: LabGroup) -> str:
    return without_mentions(f"Group {group.number}: {group.name}")[:100]


def group_channels(ctx: StepContext) -> list[ChannelSpec]:
    """One private channel per group: @everyone denied, the group's role and the bot allowed."""
    guild_id, bot_id = _server(ctx)
    specs = []
    for group in ctx.course.lab_groups.all():
        role = resource_get(
            ctx, provider=DISCORD, kind=ResourceKind.ROLE, key=f"group-{group.number}"
        )
        overwrites = (
            (guild_id, ROLE_OVERWRITE, 0, VIEW_CHANNEL),
            (role.external_id, ROLE_OVERWRITE, CHANNEL_MEMBER, 0),
            (bot_id, MEMBER_OVERWRITE, CHANNEL_MEMBER, 0),
        )
        specs.append(
            ChannelSpec(
                f"group-{group.number}-{group.name}"[:100],  # Discord's limit
                without_mentions(f"Private channel of lab group {group.number} ({group.name})."),
                overwrites,
                group,
            )
        )
    return specs


def create_channels(ctx: StepContext, specs: list[ChannelSpec]) -> None:
    guild_id, _ = _server(ctx)

    def existing() -> dict[str, dict[str, Any]]:
        if "channels" not in ctx.cache:
            channels = ctx.discord.list_channels(guild_id)
            ctx.cache["channels"] = {
                normalize_channel_name(c["name"]): c for c in channels if c["type"] == TEXT_CHANNEL
            }
        return ctx.cache["channels"]

    def found(channel: dict[str, Any]) -> Found:
        return Found(
            channel["id"],
            url=f"https://discord.com/channels/{guild_id}/{channel['id']}",
            data={"name": channel["name"], "overwrites": channel.get("permission_overwrites", [])},
        )

    for spec in specs:

        def find(spec: ChannelSpec = spec) -> Found | None:
            channel = existing().get(spec.key)
            if channel is None:
                return None
            _align_overwrites(ctx, channel, spec)
            return found(channel)

        def create(spec: ChannelSpec = spec) -> Found:
            channel = ctx.discord.create_channel(
                guild_id,
                name=spec.name,
                type=TEXT_CHANNEL,
                topic=spec.topic,
                permission_overwrites=spec.overwrites_json(),
                reason=_reason(ctx),
            )
            return found(channel)

        resource_ensure(
            ctx,
            provider=DISCORD,
            kind=ResourceKind.CHANNEL,
            key=spec.key,
            find=find,
            create=create,
            lab_group=spec.lab_group,
            look_first=True,
        )


def _align_overwrites(ctx: StepContext, channel: dict[str, Any], spec: ChannelSpec) -> None:
    """An adopted channel gets our overwrites: a same-named public channel must not stay public."""
    current = {
        (o["id"], int(o["type"]), int(o["allow"]), int(o["deny"]))
        for o in channel.get("permission_overwrites", [])
    }
    for overwrite in spec.overwrites:
        if overwrite not in current:
            id_, type_, allow, deny = overwrite
            ctx.discord.edit_channel_permission(
                channel["id"], id_, type=type_, allow=allow, deny=deny, reason=_reason(ctx)
            )
    channel["permission_overwrites"] = [
        {**overwrite, "allow": str(overwrite["allow"]), "deny": str(overwrite["deny"])}
        for overwrite in spec.overwrites_json()
    ]


def create_lecture_channels(ctx: StepContext) -> None:
    create_channels(ctx, lecture_channels(ctx))


def create_group_channels(ctx: StepContext) -> None:
    create_channels(ctx, group_channels(ctx))


def create_group_roles(ctx: StepContext) -> None:
    guild_id, _ = _server(ctx)

    def existing() -> dict[str, dict[str, Any]]:
        if "roles" not in ctx.cache:
            ctx.cache["roles"] = {r["name"]: r for r in ctx.discord.list_roles(guild_id)}
        return ctx.cache["roles"]

    def found(role: dict[str, Any]) -> Found:
        return Found(role["id"], data={"name": role["name"]})

    for group in ctx.course.lab_groups.all():
        name = group_role_name(group)

        def find(name: str = name) -> Found | None:
            role = existing().get(name)
            return found(role) if role else None

        def create(name: str = name) -> Found:
            return found(ctx.discord.create_role(guild_id, name=name, reason=_reason(ctx)))

        resource_ensure(
            ctx,
            provider=DISCORD,
            kind=ResourceKind.ROLE,
            key=f"group-{group.number}",
            find=find,
            create=create,
            lab_group=group,
            look_first=True,
        )
