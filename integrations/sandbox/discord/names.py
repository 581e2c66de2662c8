"""How Discord rewrites channel names (observed, not documented).

Discord stores text-like channel names (text, announcement, forum) the way it displays them:
lowercased, spaces turned into ``-``, runs of ``-`` collapsed, most punctuation dropped. A client
that compares the name it asked for with the name Discord stored must apply the same rule, or a
retry will create a duplicate channel; that is why this function is public and shared with the
platform's client. Voice, stage and category names keep their case and punctuation.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHANNEL_NAME = 100

# Channel types whose names Discord normalizes: GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM.
# (GUILD_MEDIA, 16, behaves like a forum; the sandbox does not create it.)
NORMALIZED_TYPES = frozenset({0, 5, 15, 16})

_DASHES = re.compile(r"-{2,}")


def _keep(char: str) -> bool:
    if char in "-_":
        return True
    category = unicodedata.category(char)
    # Letters of every script, the marks that belong to them (accents in decomposed text) and
    # decimal digits; every other symbol and punctuation mark is dropped.
    return category[0] in ("L", "M") or category == "Nd"


def normalize_channel_name(name: str) -> str:
    """The name Discord stores for a text channel asked to be called ``name``.

    >>> normalize_channel_name("QA Help!!")
    'qa-help'
    >>> normalize_channel_name("  Übung -- Gruppe 3 ")
    'übung-gruppe-3'
    """
    text = unicodedata.normalize("NFC", name).lower()
    text = "".join("-" if char.isspace() else char for char in text)
    text = "".join(char for char in text if _keep(char))
    text = _DASHES.sub("-", text).strip("-")
    return text[:MAX_CHANNEL_NAME]


def stored_channel_name(name: str, channel_type: int) -> str:
    """The name Discord stores for a channel of ``channel_type``: normalized for text-like types."""
    if channel_type in NORMALIZED_TYPES:
        return normalize_channel_name(name)
    return name
