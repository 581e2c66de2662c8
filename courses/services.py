"""Course services: the one way to create a course, used by the API, the admin and the CLI."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from common.rows import rows_insert
from courses.models import MAX_LAB_GROUPS, Course, LabGroup, OwnedRepository
from courses.semesters import SemesterError, semester_is, semester_normalize
from courses.validators import SEMESTER, SNOWFLAKE, clean_text_errors
from provisioning.models import DiscordServer
from provisioning.naming import (
    REPO_NAME_MAX,
    course_repository_names,
    course_slug,
    name_slug,
    repository_names,
)
from provisioning.pool import discord_server_reserve
from provisioning.services import provisioning_enqueue, provisioning_plan_rows

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey

SEMESTER_PATTERN = SEMESTER
SNOWFLAKE_PATTERN = SNOWFLAKE
GITHUB_LOGIN = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}")


class CourseConflictError(Exception):
    """The course would take what an existing course holds (the API answers 409 + existingId).

    ``field``: the input the conflict is about, where the admin shows the message.
    """

    field = "name"
    # Said instead of the message to a caller who may not see the existing course: its id and
    # name stay unknown to them (an API key sees only its own courses).
    anonymous_message = "Another course already holds what this course would take."

    def __init__(self, existing_id: uuid.UUID | str, message: str = "") -> None:
        super().__init__(message or f"Conflicts with course {existing_id}.")
        self.existing_id = existing_id


class CourseAlreadyExistsError(CourseConflictError):
    """Same name and semester, or repositories named like another course's."""

    anonymous_message = (
        "Another course of this semester already has this name, or owns the GitHub repositories "
        "this course would create: choose another name."
    )

    def __init__(self, existing_id: uuid.UUID | str, message: str = "") -> None:
        super().__init__(
            existing_id,
            message or f"A course with this name and semester already exists: {existing_id}.",
        )


class DiscordServerInUseError(CourseConflictError):
    field = "discord_guild_id"
    anonymous_message = "This Discord server is already used by another course."

    def __init__(self, existing_id: uuid.UUID | str, message: str = "") -> None:
        super().__init__(
            existing_id, message or f"This Discord server is already used by course {existing_id}."
        )


@dataclass(frozen=True)
class LabGroupInput:
    name: str
    number: int


@dataclass
class CourseCheck:
    """What ``course_check`` found: invalid input per field, and clashes with existing courses."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[CourseConflictError] = field(default_factory=list)
    semester: str = ""  # normalized, when valid
    github_org: str = ""  # normalized: lowercase, empty for GITHUB_ORG


def course_validate(
    *,
    name: str,
    semester: str,
    type: str,
    lab_groups: Iterable[LabGroupInput] = (),
    discord_guild_id: str = "",
    github_org: str = "",
) -> None:
    """Raise ``ValidationError`` with a message per field for anything a course cannot be.

    For the admin's forms: clashes with other courses are field messages too. ``course_create``
    tells them apart (a 409, not a 400, in the API).
    """
    found = course_check(
        name=name,
        semester=semester,
        type=type,
        lab_groups=lab_groups,
        discord_guild_id=discord_guild_id,
        github_org=github_org,
    )
    for conflict in found.conflicts:
        found.errors.setdefault(conflict.field, []).append(str(conflict))
    if found.errors:
        raise ValidationError(found.errors)


def course_check(
    *,
    name: str,
    semester: str,
    type: str,
    lab_groups: Iterable[LabGroupInput] = (),
    discord_guild_id: str = "",
    priority: str = Course.Priority.NORMAL,
    github_org: str = "",
) -> CourseCheck:
    """Check a course to be created against the rules and against the existing courses."""
    groups = list(lab_groups)
    # Control, bidirectional and zero-width characters would reach Discord and GitHub names.
    errors = clean_text_errors(name=name, group_names=[group.name for group in groups])
    if not 1 <= len(name.strip()) <= 100:
        errors.setdefault("name", []).append("Give a name of 1 to 100 characters.")
    try:
        semester = semester_normalize(semester)
    except SemesterError as exc:
        errors.setdefault("semester", []).append(str(exc))
        semester = ""
    errors.update(_name_errors(name) if "name" not in errors else {})
    if type not in Course.Type.values:
        errors.setdefault("type", []).append(f"Choose one of {', '.join(Course.Type.values)}.")
    if type == Course.Type.LECTURE and groups:
        errors.setdefault("lab_groups", []).append("A lecture has no lab groups.")
    if type == Course.Type.LABORATORY:
        errors.update(_lab_group_errors(groups))
    if priority not in Course.Priority.values:
        errors.setdefault("priority", []).append(
            f"Choose one of {', '.join(Course.Priority.values)}."
        )
    if discord_guild_id and not SNOWFLAKE_PATTERN.fullmatch(discord_guild_id):
        errors.setdefault("discord_guild_id", []).append(
            "A Discord server id is a snowflake of 17 to 20 digits."
        )
    org = github_org_normalize(github_org)
    if org and not GITHUB_LOGIN.fullmatch(org):
        errors.setdefault("github_org", []).append(
            "A GitHub organization is 1 to 39 letters, digits or single hyphens, not at either end."
        )
    conflicts: list[CourseConflictError] = []
    if discord_guild_id and "discord_guild_id" not in errors:
        other = Course.objects.filter(discord_guild_id=discord_guild_id).first()
        claimed = DiscordServer.objects.filter(guild_id=discord_guild_id, course__isnull=False)
        holder = other.id if other else claimed.values_list("course_id", flat=True).first()
        if holder is not None:
            conflicts.append(DiscordServerInUseError(holder))
    # The repositories depend on the name, the semester, the type and the group numbers.
    if not errors.keys() & {"name", "semester", "type", "lab_groups", "github_org"}:
        clash = _name_clash(name=name, semester=semester, type=type, groups=groups, org=org)
        if clash is not None:
            conflicts.insert(0, clash)
    return CourseCheck(errors=errors, conflicts=conflicts, semester=semester, github_org=org)


def github_org_normalize(github_org: str) -> str:
    """Lowercase (GitHub logins ignore case), and empty for ``GITHUB_ORG`` however spelled, so
    courses of one organization compare equal whichever way it was given."""
    org = github_org.strip().lower()
    return "" if org == settings.GITHUB_ORG.lower() else org


def _name_errors(name: str) -> dict[str, list[str]]:
    """A name must give repository names of its own: not nothing, not only the semester."""
    if not any(char.isalnum() for char in name):
        return {"name": ["Give a name with at least one letter or digit."]}
    if semester_is(name):
        return {"name": ["Give the course's name, not only a semester."]}
    return {}


def _name_clash(
    *, name: str, semester: str, type: str, groups: list[LabGroupInput], org: str = ""
) -> CourseAlreadyExistsError | None:
    """The course whose name and semester, or whose repositories, this course would take.

    Repository names are compared, not course names: "Algorithms!" and "algorithms" would both
    own ``2026-fall-algorithms``, and a lecture "Grp2 Group 1" owns the repository of group 1 of
    a laboratory "Grp2". Only courses of the same organization (``org``, normalized) can clash:
    ``a/2026-fall-x`` and ``b/2026-fall-x`` are different repositories.
    """
    wanted: set[str] = set()
    exact: list[str] = []
    cut: list[str] = []
    if name_slug(name):  # else named after its own id: nobody else's
        slug = course_slug(name=name, semester=semester, course_id=uuid.uuid4())
        numbers = [g.number for g in groups]
        wanted = set(repository_names(slug=slug, type=type, group_numbers=numbers))
        exact, cut = _owner_slugs(wanted)
    # Newest first, sorted here: the few rows found cost less to sort than ORDER BY.
    candidates = sorted(
        _clash_candidates(name=name, semester=semester, org=org, exact=exact, cut=cut),
        key=lambda course: course.created_at,
        reverse=True,
    )
    for other in candidates:
        if other.name == name and other.semester == semester:
            return CourseAlreadyExistsError(other.id)
    for other in candidates:
        taken = wanted.intersection(course_repository_names(other))
        if taken:
            return CourseAlreadyExistsError(
                other.id,
                f"Course {other.id} ({other}) already owns the GitHub repository "
                f"{sorted(taken)[0]} this course would create: choose another name.",
            )
    return None


_GROUP_SUFFIX = re.compile(r"-group-\d+$")


def _owner_slugs(names: set[str]) -> tuple[list[str], list[str]]:
    """The slugs that would own one of ``names``: exactly these (the first list), or any slug
    beginning with one of the second's. A lecture's repository is its slug, a laboratory's its
    slug and ``-group-<n>``, both cut to GitHub's 100 characters (a cut name is owned by any slug
    it begins)."""
    exact: set[str] = set()
    cut: set[str] = set()
    for repository in names:
        bases = [(repository, REPO_NAME_MAX)]
        if suffix := _GROUP_SUFFIX.search(repository):
            bases.append((repository[: suffix.start()], REPO_NAME_MAX - len(suffix.group())))
        for base, room in bases:
            (exact if len(base) < room else cut).add(base)
    return sorted(exact), sorted(cut)


def _clash_candidates(
    *, name: str, semester: str, org: str, exact: list[str], cut: list[str]
) -> list[Course]:
    """The live courses (lab groups loaded) a new course could clash with, in one query.

    The course of the same name and semester; the semester's unnamed courses of ``org`` (made
    without us, named on the fly); the courses of ``org`` whose slug is one of ``exact`` or begins
    with one of ``cut``. A flat OR whose arms an index answers (the unique (name, semester) and
    (org, slug) ones, and the unnamed courses' own), so that the planner reads those few rows,
    not every live course; only a name cut at GitHub's 100 characters adds prefix arms, a scan. A
    torn-down course owns nothing: its name is free again (repositories it archived instead of
    deleting are refused on GitHub by the marker, with what to do, like any stranger's).

    Written in SQL, not built with ``Q``: every create runs it, and the ORM built and compiled it
    anew each time (0.8 ms of Python per create, measured), while the text changes only
    with the number of names.
    """
    arms = ["(name = %s AND semester = %s)", "(slug = '' AND semester = %s AND github_org = %s)"]
    params: list[str] = [name, semester, semester, org]
    if exact:
        arms.append(f"(github_org = %s AND slug IN ({', '.join(['%s'] * len(exact))}))")
        params += [org, *exact]
    for base in cut:
        # A prefix, as the ORM's startswith: LIKE, with the wildcards a slug may hold ("_": a
        # slug keeps underscores) escaped by "!" (a backslash would depend on the server's
        # standard_conforming_strings).
        arms.append("(github_org = %s AND slug LIKE %s ESCAPE '!')")
        params += [org, _like_escape(base) + "%"]
    sql = (
        f"SELECT * FROM {Course._meta.db_table} "  # the table: a model's name; values: params
        f"WHERE deleted_at IS NULL AND ({' OR '.join(arms)})"
    )
    return list(Course.objects.raw(sql, params).prefetch_related("lab_groups"))


def owned_repository_rows(*, course: Course, names: Iterable[str]) -> list[OwnedRepository]:
    """The rows by which ``course`` owns ``names`` (unsaved): written with the course or groups.

    Sorted: two writes racing for several names take them in one order, so that one of them
    meets the other's unique value, not a deadlock."""
    return [
        OwnedRepository(course=course, github_org=course.github_org, name=name)
        for name in sorted(names)
    ]


def owned_repository_clash(
    *,
    org: str,
    names: Iterable[str],
    by: str = "this course would create: choose another name",
    course: Course | None = None,
) -> CourseAlreadyExistsError | None:
    """Who other than ``course`` owns one of ``names`` in ``org`` (normalized), after the unique
    owned names refused a write: the same answer as the clash check's, naming the owner. None:
    the write was refused for something else."""
    owned = (
        OwnedRepository.objects.filter(github_org=org, name__in=list(names))
        .exclude(course=course)
        .select_related("course")
        .order_by("name")
        .first()
    )
    if owned is None:
        return None
    other = owned.course
    return CourseAlreadyExistsError(
        other.id,
        f"Course {other.id} ({other}) already owns the GitHub repository {owned.name} {by}.",
    )


def _like_escape(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


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
    priority: str = Course.Priority.NORMAL,
    github_org: str = "",
    created_by_key: ApiKey | None = None,
    created_by_user: User | None = None,
) -> Course:
    """Create a course, its lab groups and its pending steps; provisioning starts on commit.

    ``created_by_key`` / ``created_by_user``: who asked (an API key, or a staff member), so that
    their cap on active courses applies.
    """
    groups = list(lab_groups)
    name = name.strip()
    # Everything is checked before anything is made: no row, no pool server, no task.
    found = course_check(
        name=name,
        semester=semester,
        type=type,
        lab_groups=groups,
        discord_guild_id=discord_guild_id,
        priority=priority,
        github_org=github_org,
    )
    if found.errors:
        raise ValidationError(found.errors)
    if found.conflicts:
        raise found.conflicts[0]
    semester = found.semester
    course_id = uuid.uuid4()
    slug = course_slug(name=name, semester=semester, course_id=course_id)
    names = repository_names(slug=slug, type=type, group_numbers=[g.number for g in groups])
    # The course, its groups, its repositories' names (unique per organization: the check above
    # read before this writes, and a concurrent create may have passed it too), its operation and
    # its steps are one statement (common.rows): a transaction of its own. A block is opened only
    # when something else must join it (a server taken out of the pool), or inside the caller's
    # block, so that a lost race rolls back to a savepoint and the caller's transaction can still
    # say who won: BEGIN and COMMIT are two round trips on every create.
    block = bool(discord_guild_id) or transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if block else nullcontext():
            course = Course(
                id=course_id,
                name=name,
                semester=semester,
                slug=slug,
                github_org=found.github_org,
                type=type,
                discord_guild_id=discord_guild_id,
                priority=priority,
                created_by_key=created_by_key,
                created_by_user=created_by_user,
            )
            created = [
                LabGroup(course=course, name=group.name.strip(), number=group.number)
                for group in groups
            ]
            owned = owned_repository_rows(course=course, names=names)
            operation, steps = provisioning_plan_rows(course=course)
            rows_insert([course], created, owned, [operation], steps)
            # The caller shows the course at once: its groups are known, not read back.
            course._prefetched_objects_cache = {  # type: ignore[attr-defined]
                "lab_groups": sorted(created, key=lambda group: group.number)
            }
            discord_server_reserve(course=course)
            provisioning_enqueue(course=course)
    except IntegrityError as exc:  # a concurrent create won the race for a unique value
        same = Course.objects.filter(deleted_at__isnull=True).filter(
            Q(name=name, semester=semester) | Q(slug=slug, github_org=found.github_org)
        )
        existing = same.values_list("id", flat=True).first()
        if existing is not None:
            raise CourseAlreadyExistsError(
                existing, f"Course {existing} was just created with this name and semester."
            ) from exc
        clash = owned_repository_clash(org=found.github_org, names=names)
        if clash is not None:
            raise clash from exc
        holder = (
            Course.objects.filter(discord_guild_id=discord_guild_id) if discord_guild_id else None
        )
        existing = holder.values_list("id", flat=True).first() if holder is not None else None
        if existing is not None:
            raise DiscordServerInUseError(
                existing, f"This Discord server was just taken by course {existing}."
            ) from exc
        raise
    return course
