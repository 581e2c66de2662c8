"""Discord permission bits and how a member's permissions are computed.

Follows the algorithm of Discord's documentation ("Permission Overwrites"): the guild owner and
ADMINISTRATOR have everything; otherwise the base is @everyone's permissions OR the member's
roles, and in a channel the @everyone overwrite, then the roles' overwrites (all denies, then all
allows), then the member's own overwrite are applied in that order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
PRIORITY_SPEAKER = 1 << 8
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
VIEW_GUILD_INSIGHTS = 1 << 19
CONNECT = 1 << 20
SPEAK = 1 << 21
MUTE_MEMBERS = 1 << 22
DEAFEN_MEMBERS = 1 << 23
MOVE_MEMBERS = 1 << 24
USE_VAD = 1 << 25
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
MANAGE_GUILD_EXPRESSIONS = 1 << 30
USE_APPLICATION_COMMANDS = 1 << 31
REQUEST_TO_SPEAK = 1 << 32
MANAGE_EVENTS = 1 << 33
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
USE_EXTERNAL_STICKERS = 1 << 37
SEND_MESSAGES_IN_THREADS = 1 << 38
USE_EMBEDDED_ACTIVITIES = 1 << 39
MODERATE_MEMBERS = 1 << 40
VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
USE_SOUNDBOARD = 1 << 42
CREATE_GUILD_EXPRESSIONS = 1 << 43
CREATE_EVENTS = 1 << 44
USE_EXTERNAL_SOUNDS = 1 << 45
SEND_VOICE_MESSAGES = 1 << 46
SEND_POLLS = 1 << 49
USE_EXTERNAL_APPS = 1 << 50
PIN_MESSAGES = 1 << 51
BYPASS_SLOWMODE = 1 << 52

ALL = (1 << 53) - 1  # every bit Discord defines today fits below 2**53

# What @everyone has in a server made by a person (what Discord grants by default).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_TTS_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | REQUEST_TO_SPEAK
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | USE_EMBEDDED_ACTIVITIES
    | USE_SOUNDBOARD
    | CREATE_GUILD_EXPRESSIONS
    | CREATE_EVENTS
    | USE_EXTERNAL_SOUNDS
    | SEND_VOICE_MESSAGES
    | SEND_POLLS
    | USE_EXTERNAL_APPS
)

# What a course-provisioning bot asks for in its OAuth2 link: rename the server, create channels
# and roles, set private channels' overwrites, post and read messages, make invites.
PROVISIONING_BOT = (
    MANAGE_GUILD
    | MANAGE_CHANNELS
    | MANAGE_ROLES
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | CREATE_INSTANT_INVITE
)


def parse_permissions(value: Any) -> int:
    """A permission bitfield given as an int or a decimal string. Raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"permissions must be an integer or a decimal string, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"permissions must be an integer or a decimal string, not {value!r}")
    if not 0 <= number <= ALL:
        raise ValueError(f"permissions out of range: {number}")
    return number


def base_permissions(is_owner: bool, everyone: int, role_permissions: Iterable[int]) -> int:
    """A member's server-wide permissions."""
    if is_owner:
        return ALL
    permissions = everyone
    for value in role_permissions:
        permissions |= value
    if permissions & ADMINISTRATOR:
        return ALL
    return permissions


def channel_permissions(
    base: int,
    guild_id: str,
    member_id: str,
    member_role_ids: Iterable[str],
    overwrites: Iterable[dict[str, Any]],
) -> int:
    """A member's permissions in one channel, given its server-wide ``base`` and the overwrites.

    ``overwrites``: dicts with ``id``, ``type`` (0 role, 1 member), ``allow`` and ``deny`` (ints).
    """
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    by_id = {(o["type"], o["id"]): o for o in overwrites}
    permissions = base
    everyone = by_id.get((0, guild_id))
    if everyone:
        permissions = (permissions & ~everyone["deny"]) | everyone["allow"]
    allow = deny = 0
    for role_id in member_role_ids:
        overwrite = by_id.get((0, role_id))
        if overwrite:
            allow |= overwrite["allow"]
            deny |= overwrite["deny"]
    permissions = (permissions & ~deny) | allow
    member = by_id.get((1, member_id))
    if member:
        permissions = (permissions & ~member["deny"]) | member["allow"]
    return permissions
