"""The names a course owns on GitHub, computed in one place.

``course_create`` refuses a course whose repositories would be named like another course's
before anything is made, and the GitHub handlers create exactly these names: both call
``repository_names``. A course's slug (``<semester>-<name-slug>``) is computed once at creation
and stored on ``Course.slug``, so a later change of these rules never renames what exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from anyascii import anyascii
from django.utils.text import slugify

REPO_NAME_MAX = 100
NAME_SLUG_MAX = 100
LECTURE = "LECTURE"  # Course.Type.LECTURE; this module imports no model


def transliterate(text: str) -> str:
    """Latin letters for any script, with a break between syllables that anyascii capitalizes.

    anyascii spells ``编程导论`` as ``BianChengDaoLun``; split, it reads ``bian-cheng-dao-lun``.
    Arabic (``البرمجة`` -> ``lbrmjh``) and Cyrillic come out as words of their own.
    """
    parts: list[str] = []
    for char in text:
        if char.isascii():
            parts.append(char)
            continue
        latin = anyascii(char)
        if latin[:1].isupper() and parts and parts[-1][-1:].isalnum():
            parts.append(" ")
        parts.append(latin)
    return "".join(parts)


def name_slug(name: str) -> str:
    """The name's part of repository names: lowercase ASCII words joined by dashes; may be empty."""
    return slugify(transliterate(name))[:NAME_SLUG_MAX].strip("-_")


def course_slug(*, name: str, semester: str, course_id: uuid.UUID) -> str:
    """``<semester>-<name-slug>``; the short course id when the name transliterates to nothing.

    Never the bare semester: two such courses would own the same repositories.
    """
    return f"{semester}-{name_slug(name) or 'course-' + course_id.hex[:8]}"


def repository_names(*, slug: str, type: str, group_numbers: Iterable[int] = ()) -> list[str]:
    """``<slug>`` for a lecture, ``<slug>-group-<n>`` per lab group, cut to GitHub's 100."""
    if type == LECTURE:
        return [slug[:REPO_NAME_MAX]]
    names = []
    for number in group_numbers:
        suffix = f"-group-{number}"
        names.append(slug[: REPO_NAME_MAX - len(suffix)] + suffix)
    return names


def legacy_slug(*, name: str, semester: str) -> str:
    """What the GitHub handlers named repositories after before slugs were stored.

    The backfill migration stores it on the courses of that time so that their repositories keep
    their names; rows made without the service (test factories) fall back on it too.
    """
    return slugify(f"{semester}-{name}") or "course"


def course_repository_names(
    course: Any, *, group_numbers: Iterable[int] | None = None
) -> list[str]:
    """The repositories ``course`` owns (``group_numbers``: its groups', when already loaded)."""
    if group_numbers is None:
        group_numbers = [group.number for group in course.lab_groups.all()]
    slug = course.slug or legacy_slug(name=course.name, semester=course.semester)
    return repository_names(slug=slug, type=course.type, group_numbers=group_numbers)
