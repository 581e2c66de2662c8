"""The fake Discord's objects, in memory, and the lookups every handler shares.

Each lookup answers the way Discord does when the object is missing or hidden from the bot:
a guild the bot is not in is "Unknown Guild" (10004), a channel of such a guild "Missing Access"
(50001), and so on. Handlers run under the sandbox's global lock, so nothing here locks.
"""

from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.discord import errors
from sandbox.discord import permissions as perms

FIRST_SNOWFLAKE = 1_400_000_000_000_000_000  # 19 digits, like today's ids; then +1 each time
DEFAULT_TOKEN = "sandbox-discord-token"
DEFAULT_APPLICATION_ID = "100000000000000001"
DEFAULT_BOT_NAME = "Course Provisioner"
STAFF_USERNAME = "course-staff"


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


@dataclass
class Settings:
    """Options of ``reset``/``configure`` (see :data:`OPTION_NAMES`)."""

    bot_token: str = DEFAULT_TOKEN
    application_id: str = DEFAULT_APPLICATION_ID
    bot_name: str = DEFAULT_BOT_NAME
    rate_limit: dict[str, float] = field(default_factory=lambda: {"limit": 50, "window": 1.0})
    global_limit: int = 50
    max_roles: int = 250
    max_channels: int = 500
    max_channels_per_category: int = 50
    max_invites: int = 1000

    def update(self, options: dict[str, Any]) -> None:
        unknown = set(options) - set(OPTION_NAMES)
        if unknown:
            raise ValueError(f"unknown discord options: {', '.join(sorted(unknown))}")
        for name in ("bot_token", "bot_name"):
            if name in options and (not isinstance(options[name], str) or not options[name]):
                raise ValueError(f"{name} must be a non-empty string")
        if "application_id" in options and not _is_snowflake(options["application_id"]):
            raise ValueError("application_id must be a snowflake (a string of digits)")
        if "rate_limit" in options:
            rate = options["rate_limit"]
            if not isinstance(rate, dict) or set(rate) - {"limit", "window"}:
                raise ValueError('rate_limit must be {"limit": N, "window": seconds}')
            merged = {**self.rate_limit, **rate}
            if not _positive_int(merged["limit"]) or not _positive_number(merged["window"]):
                raise ValueError("rate_limit needs a positive integer limit and a positive window")
            options = {
                **options,
                "rate_limit": {"limit": merged["limit"], "window": merged["window"]},
            }
        for name in ("global_limit", "max_roles", "max_channels", "max_channels_per_category"):
            if name in options and not _positive_int(options[name]):
                raise ValueError(f"{name} must be a positive integer")
        if "max_invites" in options and not _positive_int(options["max_invites"]):
            raise ValueError("max_invites must be a positive integer")
        for name, value in options.items():
            setattr(self, name, str(value) if name == "application_id" else value)

    def public(self) -> dict[str, Any]:
        """Settings without the token, for the snapshot."""
        return {name: getattr(self, name) for name in OPTION_NAMES if name != "bot_token"}


OPTION_NAMES = tuple(Settings.__dataclass_fields__)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _is_snowflake(value: Any) -> bool:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return isinstance(text, str) and text.isdigit() and int(text) < 2**64


@dataclass
class User:
    id: str
    username: str
    bot: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "discriminator": "0001" if self.bot else "0",
            "global_name": None if self.bot else self.username,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }


@dataclass
class Role:
    id: str
    name: str
    permissions: int
    position: int
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: str | None = None  # for the role Discord makes when a bot joins

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": None,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": self.bot_id}
        return data


@dataclass
class Overwrite:
    id: str
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "allow": self.allow, "deny": self.deny}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


TEXT, VOICE, CATEGORY, ANNOUNCEMENT, STAGE, DIRECTORY, FORUM = 0, 2, 4, 5, 13, 14, 15
CREATABLE_TYPES = (TEXT, VOICE, CATEGORY, ANNOUNCEMENT, STAGE, FORUM)
TOPIC_LIMITS = {TEXT: 1024, ANNOUNCEMENT: 1024, FORUM: 4096}  # other types have no topic


@dataclass
class Channel:
    id: str
    guild_id: str
    type: int
    name: str
    position: int
    topic: str | None = None
    parent_id: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    overwrites: dict[str, Overwrite] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "guild_id": self.guild_id,
            "name": self.name,
            "position": self.position,
            "flags": 0,
            "parent_id": self.parent_id,
            "permission_overwrites": [o.to_json() for o in self.overwrites.values()],
        }
        if self.type == CATEGORY:
            return data
        data.update(
            nsfw=self.nsfw, last_message_id=None, rate_limit_per_user=self.rate_limit_per_user
        )
        if self.type in (VOICE, STAGE):
            data.update(bitrate=self.bitrate, user_limit=self.user_limit, rtc_region=None)
        else:
            data["topic"] = self.topic
        if self.type == FORUM:
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        return data


@dataclass
class Member:
    user_id: str
    roles: list[str]
    joined_at: float


@dataclass
class Invite:
    code: str
    guild_id: str
    channel_id: str
    inviter_id: str
    max_age: int
    max_uses: int
    temporary: bool
    role_ids: list[str]
    created_at: float
    uses: int = 0

    def expired(self, now: float) -> bool:
        return self.max_age > 0 and now >= self.created_at + self.max_age


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    invites: dict[str, Invite] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # what PATCH /guilds may change
    audit_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def sorted_roles(self) -> list[Role]:
        return sorted(self.roles.values(), key=lambda role: (role.position, int(role.id)))

    def sorted_channels(self) -> list[Channel]:
        return sorted(self.channels.values(), key=lambda c: (c.position, int(c.id)))


GUILD_SETTING_DEFAULTS: dict[str, Any] = {
    "description": None,
    "afk_channel_id": None,
    "afk_timeout": 300,
    "verification_level": 0,
    "default_message_notifications": 0,
    "explicit_content_filter": 0,
    "preferred_locale": "en-US",
    "system_channel_id": None,
    "system_channel_flags": 0,
    "rules_channel_id": None,
    "public_updates_channel_id": None,
    "safety_alerts_channel_id": None,
    "premium_progress_bar_enabled": False,
}


class DiscordState:
    """Everything the fake Discord knows, plus the bot's view of it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.users: dict[str, User] = {}
        self.guilds: dict[str, Guild] = {}
        self._next_id = FIRST_SNOWFLAKE
        self._random = random.Random(20250728)  # invite codes: random-looking, reproducible
        self.counters: dict[str, int] = {
            "requests": 0,
            "unauthorized": 0,
            "rate_limited": 0,
            "rate_limited_user": 0,
            "rate_limited_global": 0,
            "rate_limited_injected": 0,
            "guilds_created_by_staff": 0,
            "channels_created": 0,
            "channels_deleted": 0,
            "roles_created": 0,
            "roles_deleted": 0,
            "invites_created": 0,
            "invites_deleted": 0,
        }
        self.users[self.bot_id] = User(self.bot_id, settings.bot_name, bot=True)
        staff = User(self.new_id(), STAFF_USERNAME)
        self.users[staff.id] = staff
        self.staff_id = staff.id

    # -- ids ------------------------------------------------------------------------------------
    def taken(self, snowflake: str) -> bool:
        if snowflake in self.users or snowflake in self.guilds:
            return True
        return any(snowflake in g.roles or snowflake in g.channels for g in self.guilds.values())

    def new_id(self) -> str:
        while True:
            self._next_id += 1
            candidate = str(self._next_id)
            if not self.taken(candidate):
                return candidate

    def invite_code(self) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            code = "".join(self._random.choice(alphabet) for _ in range(8))
            if all(code not in g.invites for g in self.guilds.values()):
                return code

    # -- the bot --------------------------------------------------------------------------------
    @property
    def bot_id(self) -> str:
        return self.settings.application_id

    @property
    def bot(self) -> User:
        return self.users[self.bot_id]

    def rename_bot(self, old_id: str, application_id: str, name: str) -> None:
        """Give the bot a new id/name (``configure``) without losing its memberships.

        Call before ``settings.application_id`` changes: ``old_id`` is the bot's current id.
        """
        if application_id != old_id:
            if self.taken(application_id):
                raise ValueError(f"application_id {application_id} is already used by an object")
            del self.users[old_id]
            for guild in self.guilds.values():
                if old_id in guild.members:
                    member = guild.members.pop(old_id)
                    member.user_id = application_id
                    guild.members[application_id] = member
                for role in guild.roles.values():
                    if role.bot_id == old_id:
                        role.bot_id = application_id
        self.users[application_id] = User(application_id, name, bot=True)

    # -- lookups as the bot sees them -----------------------------------------------------------
    def guild_for_bot(self, guild_id: str) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None or self.bot_id not in guild.members:
            raise errors.unknown_guild()
        return guild

    def channel_for_bot(self, channel_id: str) -> tuple[Guild, Channel]:
        """The channel and its guild; the bot must be in the guild and see the channel."""
        for guild in self.guilds.values():
            channel = guild.channels.get(channel_id)
            if channel is not None:
                if self.bot_id not in guild.members:
                    raise errors.missing_access()
                if not self.channel_permissions(guild, channel) & perms.VIEW_CHANNEL:
                    raise errors.missing_access()
                return guild, channel
        raise errors.unknown_channel()

    def guild_permissions(self, guild: Guild, user_id: str | None = None) -> int:
        user_id = user_id or self.bot_id
        member = guild.members.get(user_id)
        roles = [guild.roles[r].permissions for r in (member.roles if member else [])]
        return perms.base_permissions(user_id == guild.owner_id, guild.everyone.permissions, roles)

    def channel_permissions(
        self, guild: Guild, channel: Channel, user_id: str | None = None
    ) -> int:
        user_id = user_id or self.bot_id
        member = guild.members.get(user_id)
        return perms.channel_permissions(
            self.guild_permissions(guild, user_id),
            guild.id,
            user_id,
            member.roles if member else [],
            [o.as_dict() for o in channel.overwrites.values()],
        )

    def top_role_position(self, guild: Guild, user_id: str | None = None) -> int:
        member = guild.members.get(user_id or self.bot_id)
        return max((guild.roles[r].position for r in (member.roles if member else [])), default=0)

    @staticmethod
    def require(have: int, needed: int) -> None:
        if have & needed != needed:
            raise errors.missing_permissions()

    def audit(self, guild: Guild, action: str, target_id: str, reason: str | None) -> None:
        """What Discord would show in the server's audit log (with ``X-Audit-Log-Reason``)."""
        guild.audit_log.append(
            {
                "action": action,
                "target_id": target_id,
                "user_id": self.bot_id,
                "reason": reason,
                "time": time.time(),
            }
        )

    # -- staff ----------------------------------------------------------------------------------
    def staff_create_guild(
        self,
        name: str,
        permissions: str | int = perms.PROVISIONING_BOT,
        guild_id: str | None = None,
        bot_member: bool = True,
        default_channels: bool = False,
    ) -> Guild:
        if not isinstance(name, str) or not 2 <= len(name.strip()) <= 100:
            raise ValueError("name must be a string of 2 to 100 characters")
        bot_permissions = perms.parse_permissions(permissions)
        if guild_id is None:
            guild_id = self.new_id()
        else:
            if isinstance(guild_id, int) and not isinstance(guild_id, bool):
                guild_id = str(guild_id)
            if not _is_snowflake(guild_id):
                raise ValueError("guild_id must be a snowflake (a string of digits)")
            if self.taken(guild_id):
                raise ValueError(f"guild_id {guild_id} is already used")
        for flag_name, flag in (("bot_member", bot_member), ("default_channels", default_channels)):
            if not isinstance(flag, bool):
                raise ValueError(f"{flag_name} must be true or false")
        now = time.time()
        guild = Guild(guild_id, name.strip(), self.staff_id, settings=dict(GUILD_SETTING_DEFAULTS))
        # @everyone's id is the guild's id; it is at position 0, below every other role.
        guild.roles[guild_id] = Role(guild_id, "@everyone", perms.DEFAULT_EVERYONE, 0)
        guild.members[self.staff_id] = Member(self.staff_id, [], now)
        self.guilds[guild_id] = guild
        if default_channels:
            # What Discord's "Create My Own" template gives a new server.
            text = self._add_channel(guild, CATEGORY, "Text Channels", 0)
            voice = self._add_channel(guild, CATEGORY, "Voice Channels", 1)
            general = self._add_channel(guild, TEXT, "general", 0, parent_id=text.id)
            self._add_channel(guild, VOICE, "General", 0, parent_id=voice.id)
            guild.settings["system_channel_id"] = general.id
        if bot_member:
            # Adding a bot with permissions through OAuth2 makes a managed role named after it.
            role = Role(
                self.new_id(),
                self.bot.username,
                bot_permissions,
                1,
                managed=True,
                bot_id=self.bot_id,
            )
            guild.roles[role.id] = role
            guild.members[self.bot_id] = Member(self.bot_id, [role.id], now)
        self.counters["guilds_created_by_staff"] += 1
        return guild

    def _add_channel(
        self, guild: Guild, kind: int, name: str, position: int, parent_id: str | None = None
    ) -> Channel:
        channel = Channel(self.new_id(), guild.id, kind, name, position, parent_id=parent_id)
        guild.channels[channel.id] = channel
        return channel

    # -- snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "bot": {"id": self.bot_id, "username": self.bot.username},
            "staff_user_id": self.staff_id,
            "options": self.settings.public(),
            "counters": dict(self.counters),
            "guilds": {guild.id: _guild_snapshot(self, guild) for guild in self.guilds.values()},
        }


def _guild_snapshot(state: DiscordState, guild: Guild) -> dict[str, Any]:
    return {
        "id": guild.id,
        "name": guild.name,
        "owner_id": guild.owner_id,
        "bot_member": state.bot_id in guild.members,
        "bot_permissions": str(state.guild_permissions(guild)),
        "settings": dict(guild.settings),
        "roles": [
            {
                "id": role.id,
                "name": role.name,
                "permissions": str(role.permissions),
                "position": role.position,
                "managed": role.managed,
                "color": role.color,
                "hoist": role.hoist,
                "mentionable": role.mentionable,
            }
            for role in guild.sorted_roles()
        ],
        "channels": [
            {
                "id": channel.id,
                "name": channel.name,
                "type": channel.type,
                "topic": channel.topic,
                "parent_id": channel.parent_id,
                "position": channel.position,
                "permission_overwrites": [o.to_json() for o in channel.overwrites.values()],
            }
            for channel in guild.sorted_channels()
        ],
        "members": [
            {
                "user_id": member.user_id,
                "username": state.users[member.user_id].username,
                "bot": state.users[member.user_id].bot,
                "roles": list(member.roles),
            }
            for member in guild.members.values()
        ],
        "invites": [
            {
                "code": invite.code,
                "channel_id": invite.channel_id,
                "max_age": invite.max_age,
                "max_uses": invite.max_uses,
                "temporary": invite.temporary,
                "role_ids": list(invite.role_ids),
                "uses": invite.uses,
                "created_at": iso(invite.created_at),
            }
            for invite in guild.invites.values()
        ],
        "audit_log": [dict(entry) for entry in guild.audit_log],
    }
