"""Formats shared by the course service, the API schema, the admin and the server pool."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# The largest snowflake: Discord ids are unsigned 64-bit integers.
SNOWFLAKE_MAX = 2**64 - 1


def _digits_at_most(limit: str) -> str:
    """A regex for strings of ``len(limit)`` digits, no leading zero, at most ``limit``: the
    limit itself, or its first i digits followed by a smaller digit and any digits."""
    branches = []
    for i, digit in enumerate(limit):
        smallest = 1 if i == 0 else 0
        if int(digit) <= smallest:
            continue
        rest = len(limit) - i - 1
        branches.append(f"{limit[:i]}[{smallest}-{int(digit) - 1}][0-9]{{{rest}}}")
    return "|".join([*branches, limit])


# ASCII only: str.isdigit() would take "١٢٣" too. Use with fullmatch (a "$" lets "\n" through).
# 17 to 19 digits, or 20 digits no larger than 2^64-1: a bigger id would pass here and fail at
# Discord, and a regex (rather than a check in code) keeps the OpenAPI pattern exact too.
SNOWFLAKE = re.compile(rf"(?:[0-9]{{17,19}}|{_digits_at_most(str(SNOWFLAKE_MAX))})")
SEMESTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,31}")

# Unicode categories a name must not contain: control characters (escape sequences, newlines,
# tabs), format characters (bidirectional overrides and isolates, zero-width spaces and joiners,
# the BOM), surrogates, private use, and line/paragraph separators. They reach Discord and GitHub
# names, where they hide or reorder text (U+202E), forge lines in logs, or make two names look
# the same.
UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


def unsafe_character(value: str) -> str | None:
    """The first character of ``value`` that is not clean text, as ``U+XXXX (name)``; or None."""
    for char in value:
        if unicodedata.category(char) in UNSAFE_CATEGORIES:
            name = unicodedata.name(char, "control character")
            return f"U+{ord(char):04X} ({name.lower()})"
    return None


def clean_text_errors(*, name: str, group_names: Iterable[str] = ()) -> dict[str, list[str]]:
    """Errors for a course name and group names holding characters that are not clean text.

    Group errors are keyed ``lab_groups.<index>.name``: the API shows them as
    ``labGroups.<index>.name``, the path of the offending value in the request.
    """
    errors: dict[str, list[str]] = {}
    fields = [("name", name)] + [
        (f"lab_groups.{index}.name", group) for index, group in enumerate(group_names)
    ]
    for field, value in fields:
        char = unsafe_character(value) if isinstance(value, str) else None
        if char:
            errors[field] = [
                f"Use printable text only: {char} is not allowed "
                "(no control, bidirectional or zero-width characters)."
            ]
    return errors
