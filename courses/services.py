"""Course services: the one way to create a course, used by the API, the admin and the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from courses.models import MAX_LAB_GROUPS, Course, LabGroup
from courses.validators import SEMESTER, SNOWFLAKE
from provisioning.models import DiscordServer
from provisioning.pool import discord_server_reserve
from provisioning.services import provisioning_enqueue, provisioning_plan

if TYPE_CHECKING:
    from api.models import ApiKey

SEMESTER_PATTERN = SEMESTER
SNOWFLAKE_PATTERN = SNOWFLAKE


class CourseAlreadyExistsError(Exception):
    def __init__(self, existing_id: object) -> None:
        super().__init__(f"A course with this name and semester already exists: {existing_id}")
        self.existing_id = existing_id


@dataclass(frozen=True)
class LabGroupInput:
    name: str
    number: int


def course_validate(
    *,
    name: str,
    semester: str,
    type: str,
    lab_groups: Iterable[LabGroupInput] = (),
    discord_guild_id: str = "",
) -> None:
    """Raise ``ValidationError`` with a message per field for anything a course cannot be."""
    errors: dict[str, list[str]] = {}
    groups = list(lab_groups)
    if not 1 <= len(name.strip()) <= 100:
        errors.setdefault("name", []).append("Give a name of 1 to 100 characters.")
    if not SEMESTER_PATTERN.fullmatch(semester):
        errors.setdefault("semester", []).append(
            "Give a semester of 1 to 32 letters, digits, spaces, dots, dashes or underscores, "
            "starting with a letter or digit (e.g. 2026-fall)."
        )
    if type not in Course.Type.values:
        errors.setdefault("type", []).append(f"Choose one of {', '.join(Course.Type.values)}.")
    if type == Course.Type.LECTURE and groups:
        errors.setdefault("lab_groups", []).append("A lecture has no lab groups.")
    if type == Course.Type.LABORATORY:
        errors.update(_lab_group_errors(groups))
    if discord_guild_id and not SNOWFLAKE_PATTERN.fullmatch(discord_guild_id):
        errors.setdefault("discord_guild_id", []).append(
            "A Discord server id is a snowflake of 17 to 20 digits."
        )
    elif discord_guild_id:
        other = Course.objects.filter(discord_guild_id=discord_guild_id).first()
        claimed = DiscordServer.objects.filter(guild_id=discord_guild_id, course__isnull=False)
        holder = other.id if other else claimed.values_list("course_id", flat=True).first()
        if holder is not None:
            errors.setdefault("discord_guild_id", []).append(
                f"This Discord server is already used by course {holder}."
            )
    if errors:
        raise ValidationError(errors)


def _lab_group_errors(groups: list[LabGroupInput]) -> dict[str, list[str]]:
    problems: list[str] = []
    if not 1 <= len(groups) <= MAX_LAB_GROUPS:
        problems.append(f"A laboratory needs 1 to {MAX_LAB_GROUPS} lab groups.")
    numbers = [group.number for group in groups]
    names = [group.name.strip().casefold() for group in groups]
    if any(not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 999 for n in numbers):
        problems.append("Group numbers must be whole numbers from 1 to 999.")
    if len(set(numbers)) != len(numbers):
        problems.append("Group numbers must be unique within the course.")
    if any(not 1 <= len(name) <= 100 for name in names):
        problems.append("Group names must have 1 to 100 characters.")
    if len(set(names)) != len(names):
        problems.append("Group names must be unique within the course.")
    return {"lab_groups": problems} if problems else {}


def course_create(
    *,
    name: str,
    semester: str,
    type: str,
    lab_groups: Iterable[LabGroupInput] = (),
    discord_guild_id: str = "",
    created_by_key: ApiKey | None = None,
) -> Course:
    """Create a course, its lab groups and its pending steps; provisioning starts on commit.

    ``created_by_key``: the API key of an API request, so that its cap on active courses applies.
    """
    groups = list(lab_groups)
    name, semester = name.strip(), semester.strip()
    course_validate(
        name=name,
        semester=semester,
        type=type,
        lab_groups=groups,
        discord_guild_id=discord_guild_id,
    )
    existing = Course.objects.filter(name=name, semester=semester).values_list("id", flat=True)
    if existing:
        raise CourseAlreadyExistsError(existing[0])
    try:
        with transaction.atomic():
            course = Course.objects.create(
                name=name,
                semester=semester,
                type=type,
                discord_guild_id=discord_guild_id,
                created_by_key=created_by_key,
            )
            LabGroup.objects.bulk_create(
                LabGroup(course=course, name=group.name.strip(), number=group.number)
                for group in groups
            )
            discord_server_reserve(course=course)
            provisioning_plan(course=course)
            provisioning_enqueue(course=course)
    except IntegrityError as exc:  # a concurrent create won the race for the name or the server
        existing = Course.objects.filter(name=name, semester=semester).values_list("id", flat=True)
        if existing:
            raise CourseAlreadyExistsError(existing[0]) from exc
        if discord_guild_id and Course.objects.filter(discord_guild_id=discord_guild_id).exists():
            raise ValidationError(
                {"discord_guild_id": ["This Discord server was just taken by another course."]}
            ) from exc
        raise
    return course
