"""Discord permission bits the provisioning steps rely on, and the bot's invite URL."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_ROLES = 1 << 28
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38

NAMES = {
    CREATE_INSTANT_INVITE: "CREATE_INSTANT_INVITE",
    ADMINISTRATOR: "ADMINISTRATOR",
    MANAGE_CHANNELS: "MANAGE_CHANNELS",
    MANAGE_GUILD: "MANAGE_GUILD",
    VIEW_CHANNEL: "VIEW_CHANNEL",
    SEND_MESSAGES: "SEND_MESSAGES",
    READ_MESSAGE_HISTORY: "READ_MESSAGE_HISTORY",
    MANAGE_ROLES: "MANAGE_ROLES",
    ADD_REACTIONS: "ADD_REACTIONS",
    CREATE_PUBLIC_THREADS: "CREATE_PUBLIC_THREADS",
    CREATE_PRIVATE_THREADS: "CREATE_PRIVATE_THREADS",
    SEND_MESSAGES_IN_THREADS: "SEND_MESSAGES_IN_THREADS",
}

# What a member of a group channel (and the bot) may do there: 68608.
CHANNEL_MEMBER = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY

# Everything the steps need the bot to hold in the server. The bot may only grant in channel
# overwrites what it holds itself, hence the channel-member bits.
REQUIRED_BOT_PERMISSIONS = MANAGE_GUILD | MANAGE_CHANNELS | MANAGE_ROLES | CHANNEL_MEMBER

# What an archived course's channels deny members (@everyone and the group roles): posting,
# threads and reactions; reading stays. A bot may deny only what it holds: these come to it
# through @everyone's defaults in a server a person made (docs/operations-platform.md).
ARCHIVED_DENY = (
    SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | ADD_REACTIONS
)


def permissions_of(member_role_ids: Iterable[str], roles: list[dict], guild_id: str) -> int:
    """The server-level permissions of a member: @everyone's plus those of its roles."""
    wanted = {*member_role_ids, guild_id}  # the @everyone role's id is the server's id
    value = 0
    for role in roles:
        if role["id"] in wanted:
            value |= int(role.get("permissions") or 0)
    if value & ADMINISTRATOR:
        return ~0
    return value


def missing_permissions(have: int, need: int = REQUIRED_BOT_PERMISSIONS) -> list[str]:
    return [name for bit, name in NAMES.items() if need & bit and not have & bit]


def bot_invite_url(application_id: str, guild_id: str = "") -> str:
    """The OAuth2 link staff open to add the bot with exactly the permissions the steps need."""
    query = {
        "client_id": application_id,
        "scope": "bot",
        "permissions": str(REQUIRED_BOT_PERMISSIONS),
    }
    if guild_id:
        query.update(guild_id=guild_id, disable_guild_select="true")
    return "https://discord.com/oauth2/authorize?" + urlencode(query)
