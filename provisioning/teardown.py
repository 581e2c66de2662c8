"""Tear a course down: remove what it recorded as made, keep its row as a soft-deleted record.

For a course made by mistake, or cancelled. A TEARDOWN operation (``provisioning.handlers.
teardown``) deletes the channels, the roles, the teams and the repositories (or archives them,
``TEARDOWN_REPOSITORIES=archive``) in the reverse order of their making, gives a pool server back
to the pool under its pool name, and soft-deletes the course (``Course.deleted_at``): hidden from
lists unless asked, its name, semester and server free for a new course. Anything the course did
not record (or adopted) is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.models import Course
from provisioning.handlers.archive import BEFORE
from provisioning.handlers.teardown import maybe_made, recorded_team_id
from provisioning.models import (
    DiscordServer,
    ExternalResource,
    Operation,
    ProvisioningStep,
    ResourceKind,
)
from provisioning.operations import course_lock_idle, operation_start

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey

SUPERSEDED = "Superseded by tear down"
CONFIRMED = ExternalResource.State.CONFIRMED
StepStatus = ProvisioningStep.Status


def teardown_plan(*, course: Course) -> dict[str, Any]:
    """What tearing the course down would remove (reads the database only):
    ``{"courseId", "changes": [str, ...], "githubWrites": int, "discordWrites": int}``."""
    changes: list[str] = []
    github_writes = discord_writes = 0
    archive = settings.TEARDOWN_REPOSITORIES == "archive"
    org = course.github_org or settings.GITHUB_ORG
    resources = list(ExternalResource.objects.filter(course=course).order_by("-id"))

    def of(kind: str) -> list[ExternalResource]:
        return [r for r in resources if r.kind == kind]

    for kind, label in ((ResourceKind.CHANNEL, "channel #"), (ResourceKind.ROLE, "role ")):
        for resource in of(kind):
            name = f"{label}{resource.data.get('name') or resource.key}"
            if resource.data.get("adopted") and BEFORE in resource.data:
                changes.append(
                    f"Leave {name}: adopted, it was there before the course; its permissions "
                    "from before the archive are put back"
                )
                discord_writes += 1
            elif resource.data.get("adopted"):
                changes.append(f"Leave {name}: adopted, it was there before the course")
            elif resource.state == CONFIRMED:
                changes.append(f"Delete {name}")
                discord_writes += 1
            elif maybe_made(resource):
                changes.append(f"Leave {name}: its creation was never confirmed")
    kept_channels = {str(c.external_id) for c in of(ResourceKind.CHANNEL) if c.data.get("adopted")}
    for invite in of(ResourceKind.INVITE):
        # One on a channel that stays would go on letting people in; replaced ones still noted.
        codes = list(invite.data.get("superseded") or [])
        if invite.state == CONFIRMED and str(invite.data.get("channel_id")) in kept_channels:
            codes.append(invite.external_id)
        for code in codes:
            changes.append(f"Delete invite link {code}")
            discord_writes += 1
    for team in of(ResourceKind.TEAM):
        ours = team.state == CONFIRMED and recorded_team_id(team) is not None
        if ours and not team.data.get("adopted"):
            # Read by slug first: one made again by someone else under the name is left.
            changes.append(
                f"Delete team {team.data.get('slug') or team.key} if it still has its recorded id "
                "and the course's marker"
            )
            github_writes += 1
        else:
            changes.append(f"Leave team {team.data.get('slug') or team.key}")
    for repo in of(ResourceKind.REPOSITORY):
        if archive and repo.data.get("archived"):
            continue
        verb = "Archive" if archive else "Delete"
        if repo.state == CONFIRMED:
            changes.append(f"{verb} repository {org}/{repo.key}")
        else:
            changes.append(f"{verb} repository {org}/{repo.key} if it carries the course's marker")
        github_writes += 1
    server = next((r for r in of(ResourceKind.SERVER) if r.state == CONFIRMED), None)
    pool = DiscordServer.objects.filter(course=course).first()
    name = (pool.name if pool else "") or (server.data.get("original_name") if server else "")
    if server is not None and name:
        changes.append(f"Rename Discord server {server.external_id} back to {name!r}")
        discord_writes += 1
    if pool is not None:
        changes.append(f"Return Discord server {pool.guild_id} to the pool")
    changes.append(
        f"Keep course {course} as a deleted record: its name and semester become free again"
    )
    return {
        "courseId": str(course.id),
        "changes": changes,
        "githubWrites": github_writes,
        "discordWrites": discord_writes,
    }


def course_teardown(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    """Start a TEARDOWN of a COMPLETED or FAILED course; refused (409) while another operation of
    it is pending or running, and once it is torn down.

    A failed course has an operation with a step left that the runner would take up first: in
    the same transaction those steps are SKIPPED ("Superseded by tear down") and their operations
    FAILED, so the tear down is what runs next (and what a later retry would retry).
    """
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        operation = operation_start(
            course=locked,
            kind=Operation.Kind.TEARDOWN,
            params={"repositories": settings.TEARDOWN_REPOSITORIES},
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
            from_statuses=(Course.Status.COMPLETED, Course.Status.FAILED),
        )
        _supersede(course=locked, by=operation)
    course.refresh_from_db()
    return operation


def _supersede(*, course: Course, by: Operation) -> None:
    now = timezone.now()
    unfinished = ProvisioningStep.objects.filter(
        course=course, status__in=(StepStatus.PENDING, StepStatus.IN_PROGRESS, StepStatus.FAILED)
    ).exclude(operation=by)
    operations = list(unfinished.exclude(operation=None).values_list("operation_id", flat=True))
    unfinished.update(status=StepStatus.SKIPPED, last_error=SUPERSEDED, finished_at=now)
    Operation.objects.filter(id__in=set(operations)).update(
        status=Operation.Status.FAILED, finished_at=now
    )
