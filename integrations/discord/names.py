"""Discord's server-side normalization of text channel names (observed, not documented).

Names come back lowercased, with spaces turned into ``-``, runs of ``-`` collapsed and most
punctuation dropped. We compare names after the same normalization, or a retry that looks for
"QA Help" would not see "qa-help" and would create a duplicate.
"""

from __future__ import annotations

import re

_DROPPED = re.compile(r"[^\w\-]", re.UNICODE)
_DASHES = re.compile(r"-{2,}")


def normalize_channel_name(name: str) -> str:
    name = name.strip().lower().replace(" ", "-")
    name = _DROPPED.sub("", name)
    name = _DASHES.sub("-", name).strip("-")
    return name[:100]
