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


# Secrets no setting holds: GitHub's short-lived tokens (an App installation's ``ghs_...``, in the
# answer that grants it) and JWTs (a GitHub App's signed assertion).
_TOKEN_SHAPES = re.compile(r"\bgh[opsur]_[A-Za-z0-9_]{16,}|\beyJ[\w-]+\.[\w-]+\.[\w-]+")


def redact_text(text: str) -> str:
    """Replace any configured secret, or GitHub token or JWT, that appears in ``text``."""
    for secret in _secret_values():
        text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPES.sub(REDACTED, text)


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
