"""The one place where the environment is read.

Every setting that comes from the environment goes through ``env`` (django-environ). Production
settings use :func:`require` so that a missing or malformed variable stops the process with one
line naming it, instead of a traceback or, worse, a half-configured service.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import environ

env = environ.Env()


class ConfigError(Exception):
    """A variable is missing or malformed."""


def fail_fast(message: str) -> None:
    """Print one line naming the problem and exit: no traceback for an operator to decode."""
    sys.stderr.write(f"configuration error: {message}\n")
    raise SystemExit(2)


def require(name: str, parse: Callable[[str], Any] = str, hint: str = "") -> Any:
    """Read a required variable, parse it, and fail fast with its name when absent or invalid."""
    raw = env.str(name, default="").strip()
    if not raw:
        fail_fast(f"{name} is required{': ' + hint if hint else ''}")
    try:
        return parse(raw)
    except (ValueError, ConfigError, environ.ImproperlyConfigured) as exc:
        fail_fast(f"{name} is malformed: {exc}")
    return None  # unreachable: fail_fast exits


def parse_url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    """A parser that accepts URLs whose scheme is one of ``schemes``."""

    def parse(value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in schemes or not rest:
            raise ConfigError(
                f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return value

    return parse


def parse_list(value: str) -> list[str]:
    """Comma-separated values, blanks dropped; at least one required."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ConfigError("expected at least one comma-separated value")
    return items
