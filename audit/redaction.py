"""Keep secrets out of the audit trail and the logs."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"token|secret|password|authorization|api[_-]?key|private[_-]?key", re.I)


def _secret_values() -> list[str]:
    values = [settings.DISCORD_BOT_TOKEN, settings.GITHUB_TOKEN, settings.API_KEY]
    return [value for value in values if value and len(value) >= 6]


def redact_text(text: str) -> str:
    """Replace any configured secret that appears verbatim in ``text``."""
    for secret in _secret_values():
        text = text.replace(secret, REDACTED)
    return text


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secret-looking keys and known secrets replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_KEY.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
