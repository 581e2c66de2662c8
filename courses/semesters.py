"""The one spelling of a semester: ``YYYY-<term>``, the terms coming from ``SEMESTER_TERMS``.

A semester is part of every repository name (``2026-fall-algorithms``) and the key of the
course list's filter, so "Fall 2026" and "2026-fall" must not be two semesters. Common spellings
are normalized here, in the service's path (API, admin and CLI alike) and by a data migration for
the rows stored before; anything else is refused with the expected form and the allowed terms.
"""

from __future__ import annotations

import re

from django.conf import settings

# Words separated by spaces, dashes, underscores, dots or slashes: "Fall 2026", "2026_FALL".
_SEPARATORS = re.compile(r"[\s_\-./]+")
_YEAR = re.compile(r"[0-9]{4}")


class SemesterError(ValueError):
    """The value is no spelling of ``YYYY-<term>``; the message says what would be."""


def semester_terms() -> tuple[str, ...]:
    return tuple(settings.SEMESTER_TERMS)


def semester_help(terms: tuple[str, ...] | None = None) -> str:
    """What a semester must look like, for error messages and help texts."""
    terms = terms or semester_terms()
    return f"Give the semester as YYYY-<term>, e.g. 2026-{terms[0]}; terms: {', '.join(terms)}."


def semester_normalize(value: str, *, terms: tuple[str, ...] | None = None) -> str:
    """``Fall 2026``, ``2026-FALL``, ``fall-2026``, ``2026 fall``, ``2026_fall`` -> ``2026-fall``.

    Exactly one four-digit year and one known term, in either order. Raises ``SemesterError``.
    """
    terms = terms or semester_terms()
    words = [word for word in _SEPARATORS.split(value.strip().lower()) if word]
    if len(words) == 2:
        years = [word for word in words if _YEAR.fullmatch(word)]
        names = [word for word in words if word in terms]
        if len(years) == 1 and len(names) == 1:
            return f"{years[0]}-{names[0]}"
    shown = value if len(value) <= 40 else value[:40] + "..."
    raise SemesterError(f"{shown!r} is not a semester. {semester_help(terms)}")


def semester_is(value: str) -> bool:
    """Whether ``value`` is some spelling of a semester (a course named "Fall 2026" is not)."""
    try:
        semester_normalize(value)
    except SemesterError:
        return False
    return True
