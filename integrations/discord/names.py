"""How Discord rewrites text channel names (observed, not documented).

Discord stores text-like channel names (text, announcement, forum) the way it displays them:
lowercased, spaces turned into ``-``, runs of ``-`` collapsed, most punctuation dropped. A client
that compares the name it asked for with the name Discord stored must apply the same rule, or a
retry will create a duplicate channel. The sandbox's fake Discord applies this very function, so
the two can never drift apart.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHANNEL_NAME = 100

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
