"""The one place where the environment is read.

Every setting that comes from the environment goes through ``env`` (django-environ, made strict
below). Production settings use :func:`require` so that a missing or malformed variable stops the
process with one line naming it, instead of a traceback or, worse, a half-configured service.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import environ

# What a boolean variable may say. django-environ reads anything else as False, so a typo such as
# SECURE_SSL_REDIRECT=ture would silently switch a protection off: we refuse it instead.
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})
_NUMBERS = {int: "an integer", float: "a number"}


class ConfigError(Exception):
    """A variable is missing or malformed."""


def fail_fast(message: str) -> None:
    """Print one line naming the problem and exit: no traceback for an operator to decode."""
    sys.stderr.write(f"configuration error: {message}\n")
    raise SystemExit(2)


class StrictEnv(environ.Env):
    """django-environ, except that a malformed value fails fast with the variable's name.

    Plain ``environ.Env`` raises a bare ``ValueError`` (a traceback naming no variable) for
    ``CONN_MAX_AGE=abc``, reads ``DEBUG=maybe`` as False, reads ``5s`` as the float 5.0 and
    returns a config without ENGINE for ``DATABASE_URL=nonsense``. The base settings are read
    before the production checks run, so the strictness has to live here.
    """

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        if cast is bool and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ConfigError(f"expected true or false, got {value!r}")
        if cast in _NUMBERS and isinstance(value, str):
            # Plain int()/float(): django-environ would read "5s" or "1,5" as numbers.
            try:
                return cast(value)
            except ValueError:
                raise ConfigError(f"expected {_NUMBERS[cast]}, got {value!r}") from None
        return super().parse_value(value, cast)

    def get_value(
        self,
        var: str,
        cast: Any = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except environ.ImproperlyConfigured:
            # Only reached for a variable read without a default: say which one.
            fail_fast(f"{var} is required")
        except (ConfigError, ValueError, TypeError) as exc:
            fail_fast(f"{var} is malformed: {exc}")
        return None  # unreachable: fail_fast exits

    def db_url(
        self, var: str = "DATABASE_URL", default: Any = environ.Env.NOTSET, engine: Any = None
    ) -> dict[str, Any]:
        try:
            # django-environ warns about an unknown scheme by printing the parsed config, password
            # included: silence it, we say what is wrong in one line below.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                config = super().db_url(var, default=default, engine=engine)
        except (ValueError, KeyError, environ.ImproperlyConfigured) as exc:
            fail_fast(f"{var} is malformed: {exc}")
        # An unknown scheme becomes the ENGINE as is ("postgress"), which fails at the first query
        # instead; a dotted path is a custom backend and is left to Django.
        engine_path = config.get("ENGINE", "")
        if engine_path not in self.DB_SCHEMES.values() and "." not in engine_path:
            fail_fast(f"{var} is malformed: unknown database scheme, e.g. postgres://...")
        return config


env = StrictEnv()


def require(name: str, parse: Callable[[str], Any] = str, hint: str = "") -> Any:
    """Read a required variable, parse it, and fail fast with its name when absent or invalid."""
    raw = env.str(name, default="").strip()
    if not raw:
        fail_fast(f"{name} is required{': ' + hint if hint else ''}")
    return validate(name, raw, parse)


def validate(name: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    """Parse an already-read value, failing fast with its name when ``parse`` rejects it."""
    try:
        return parse(value)
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


def parse_budget(value: str) -> str:
    """``LIMIT/SECONDS`` windows, comma-separated (``70/60,450/3600``); returned as given."""
    for part in value.split(","):
        limit, slash, seconds = part.strip().partition("/")
        try:
            valid = slash and int(limit) > 0 and float(seconds) > 0
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(
                f"expected LIMIT/SECONDS windows such as 70/60,450/3600, got {value!r}"
            )
    return value


def parse_terms(value: str) -> tuple[str, ...]:
    """Semester terms, comma-separated (``spring,summer,fall,winter``): lowercase ASCII words.

    A term becomes part of repository names (``2026-fall-...``), hence letters only.
    """
    terms = tuple(item.strip().lower() for item in parse_list(value))
    bad = [term for term in terms if not (term.isascii() and term.isalpha())]
    if bad:
        raise ConfigError(f"terms are ASCII words without digits or punctuation, got {bad[0]!r}")
    if len(set(terms)) != len(terms):
        raise ConfigError("a term is listed twice")
    return terms
