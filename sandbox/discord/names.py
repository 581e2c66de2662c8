"""How Discord rewrites channel names (observed, not documented).

The normalization itself lives with the client (:mod:`integrations.discord.names`), so that the
client and this fake apply one rule. Voice, stage and category names keep their case and
punctuation.
"""

from __future__ import annotations

from integrations.discord.names import MAX_CHANNEL_NAME, normalize_channel_name

__all__ = ["MAX_CHANNEL_NAME", "NORMALIZED_TYPES", "normalize_channel_name", "stored_channel_name"]

# Channel types whose names Discord normalizes: GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM.
# (GUILD_MEDIA, 16, behaves like a forum; the sandbox does not create it.)
NORMALIZED_TYPES = frozenset({0, 5, 15, 16})


def stored_channel_name(name: str, channel_type: int) -> str:
    """The name Discord stores for a channel of ``channel_type``: normalized for text-like types."""
    if channel_type in NORMALIZED_TYPES:
        return normalize_channel_name(name)
    return name
