"""Changes to an existing course: rebind its Discord server, add lab groups, rename it.

Each checks its input like ``course_create`` does, then changes the course's rows and starts the
operation that carries the change to Discord and GitHub (``provisioning.operations``), in one
transaction on the locked course: a change is refused (409) while another operation runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from courses.models import Course, LabGroup, OwnedRepository
from courses.services import (
    SNOWFLAKE_PATTERN,
    CourseAlreadyExistsError,
    DiscordServerInUseError,
    LabGroupInput,
    _lab_group_errors,
    _name_errors,
    owned_repository_clash,
    owned_repository_rows,
)
from courses.validators import clean_text_errors
from provisioning.models import DiscordServer, ExternalResource, Operation
from provisioning.naming import course_repository_names, legacy_slug
from provisioning.operations import (
    OperationNotAllowedError,
    course_lock_idle,
    discord_confirmed,
    operation_start,
)
from provisioning.pool import discord_server_reserve
from provisioning.services import provisioning_retry

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def course_rebind(*, course: Course, discord_guild_id: str) -> Course:
    """Bind the course to another Discord server (``""``: the next pool server) and retry it.

    Allowed while nothing of the course exists in a Discord server (no Discord resource
    confirmed): a typo in the id, or a pool server the bot was removed from. A pool server the
    course had claimed goes back to the pool. The course's failed steps are retried.
    """
    discord_guild_id = discord_guild_id.strip()
    if discord_guild_id and not SNOWFLAKE_PATTERN.fullmatch(discord_guild_id):
        raise ValidationError(
            {"discord_guild_id": ["A Discord server id is a snowflake of 17 to 20 digits."]}
        )
    if discord_guild_id:
        other = Course.objects.filter(discord_guild_id=discord_guild_id).exclude(id=course.id)
        claimed = DiscordServer.objects.filter(guild_id=discord_guild_id).exclude(course=None)
        holder = other.values_list("id", flat=True).first() or (
            claimed.exclude(course=course).values_list("course_id", flat=True).first()
        )
        if holder is not None:
            raise DiscordServerInUseError(holder)
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        if discord_confirmed(course=locked):
            raise OperationNotAllowedError(
                f"Course {course.id} already has channels, roles or its name in Discord server "
                f"{locked.discord_guild_id}: its server can no longer be changed."
            )
        if locked.status != Course.Status.FAILED:
            raise OperationNotAllowedError(
                f"Course {course.id} is {locked.status}: only a failed course is rebound."
            )
        # The intents pointed into the old server: the new one is looked at afresh.
        ExternalResource.objects.filter(
            course=locked, provider=ExternalResource.Provider.DISCORD
        ).delete()
        DiscordServer.objects.filter(course=locked).update(
            status=DiscordServer.Status.AVAILABLE, course=None, claimed_at=None
        )
        locked.discord_guild_id = discord_guild_id
        locked.save(update_fields=["discord_guild_id", "updated_at"])
        discord_server_reserve(course=locked)
        return provisioning_retry(course=locked)


def course_add_groups(
    *,
    course: Course,
    groups: Iterable[LabGroupInput],
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
) -> Operation:
    """Add lab groups to a provisioned laboratory: an ADD_GROUPS operation makes only theirs."""
    new = list(groups)
    if course.type != Course.Type.LABORATORY:
        raise ValidationError({"lab_groups": ["A lecture has no lab groups."]})
    if not new:
        raise ValidationError({"lab_groups": ["Give at least one lab group to add."]})
    errors = clean_text_errors(name="", group_names=[group.name for group in new])
    existing = [LabGroupInput(name=g.name, number=g.number) for g in course.lab_groups.all()]
    errors.update(_lab_group_errors(existing + new))
    if errors:
        raise ValidationError(errors)
    names = course_repository_names(course, group_numbers=[group.number for group in new])
    _repository_clash(course=course, wanted=set(names))
    try:
        with transaction.atomic():
            locked = course_lock_idle(course=course)
            LabGroup.objects.bulk_create(
                LabGroup(course=locked, name=group.name.strip(), number=group.number)
                for group in new
            )
            # Unique per organization: a course created since the check above with one of these
            # repositories (it passed its own check before these groups existed) fails this.
            OwnedRepository.objects.bulk_create(owned_repository_rows(course=locked, names=names))
            return operation_start(
                course=locked,
                kind=Operation.Kind.ADD_GROUPS,
                params={"groups": [group.number for group in new]},
                requested_by_key=requested_by_key,
                requested_by_user=requested_by_user,
            )
    except IntegrityError as exc:
        clash = owned_repository_clash(
            org=course.github_org,
            names=names,
            by="a new group would get: choose another group number",
            course=course,  # a concurrent add of the same group numbers: not a clash of names
        )
        if clash is None:
            raise
        raise clash from exc


def _repository_clash(*, course: Course, wanted: set[str]) -> None:
    """The new groups' repositories must not be another course's (a lecture "X Group 3").

    Only a course of the same organization can own them (``a/x`` and ``b/x`` are different
    repositories), as in the clash check of a create.
    """
    others = (
        Course.objects.filter(
            semester=course.semester, github_org=course.github_org, deleted_at__isnull=True
        )
        .exclude(id=course.id)
        .prefetch_related("lab_groups")
    )
    for other in others:
        taken = wanted.intersection(course_repository_names(other))
        if taken:
            raise CourseAlreadyExistsError(
                other.id,
                f"Course {other.id} ({other}) already owns the GitHub repository "
                f"{sorted(taken)[0]} a new group would get: choose another group number.",
            )


def course_rename(
    *,
    course: Course,
    name: str,
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
) -> Operation | None:
    """Rename a provisioned course: a RENAME operation renames its Discord server.

    The repositories keep their names: they are named after ``Course.slug``, fixed at creation,
    which the clash check of other courses and the adoption marker rely on. ``None`` when the
    name does not change.
    """
    name = name.strip()
    errors = clean_text_errors(name=name)
    if not 1 <= len(name) <= 100:
        errors.setdefault("name", []).append("Give a name of 1 to 100 characters.")
    errors.update(_name_errors(name) if "name" not in errors else {})
    if errors:
        raise ValidationError(errors)
    if name == course.name:
        return None
    same = Course.objects.filter(
        name=name, semester=course.semester, deleted_at__isnull=True
    ).exclude(id=course.id)
    existing = same.values_list("id", flat=True).first()
    if existing is not None:
        raise CourseAlreadyExistsError(existing)
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        previous = locked.name
        if not locked.slug:  # made before slugs were stored: keep the names it has
            locked.slug = legacy_slug(name=previous, semester=locked.semester)
        locked.name = name
        locked.save(update_fields=["name", "slug", "updated_at"])
        operation = operation_start(
            course=locked,
            kind=Operation.Kind.RENAME,
            params={"from": previous, "to": name},
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
        )
    course.refresh_from_db()
    return operation


def course_rebindable(*, course: Course) -> bool:
    """Whether ``course_rebind`` would take the course: FAILED, idle, nothing in Discord yet."""
    return (
        course.status == Course.Status.FAILED
        and course.run_token is None
        and not discord_confirmed(course=course)
    )
