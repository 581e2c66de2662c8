"""Archive and unarchive a course (semester end), one course or a whole semester, with a plan.

An ARCHIVE operation makes the course read-only on the platforms (its channels for members, its
repositories for everyone) and marks its server; UNARCHIVE puts back exactly what archive changed
(``provisioning.handlers.archive``). While archived, a course takes only the operations of
``provisioning.operations.KINDS_ALLOWED_ON_ARCHIVED``.

A semester is archived course by course, each in its own transaction: a course that is busy,
failed or already archived is skipped and said so, never fatal to the others. The plan (a dry
run) reads the database only and counts the writes each course costs, and the time the GitHub
write budget (``GITHUB_WRITE_BUDGET``) makes them take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from courses.models import Course
from courses.semesters import SemesterError, semester_normalize
from integrations.ratelimit import Window, earliest_slot, parse_windows
from provisioning.handlers.archive import ARCHIVED_PREFIX, archived_name
from provisioning.models import ExternalResource, Operation, ProvisioningStep, ResourceKind
from provisioning.operations import (
    OperationBusyError,
    OperationNotAllowedError,
    course_lock_idle,
    operation_start,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey

# Discord reads of an archive: the server's channel listing, once.
DISCORD_READS_PER_COURSE = 1
UNFINISHED = (
    ProvisioningStep.Status.PENDING,
    ProvisioningStep.Status.IN_PROGRESS,
    ProvisioningStep.Status.FAILED,
)


def archive_plan(*, course: Course) -> dict[str, Any]:
    """What archiving the course would change and the writes it costs (reads the database only):
    ``{"courseId", "changes": [str, ...], "githubWrites": int, "discordWrites": int}``."""
    resources = ExternalResource.objects.filter(
        course=course, state=ExternalResource.State.CONFIRMED
    ).order_by("kind", "key")
    changes: list[str] = []
    github_writes = discord_writes = 0
    for resource in resources:
        if resource.kind == ResourceKind.CHANNEL:
            name = resource.data.get("name", resource.key)
            changes.append(f"Discord channel #{name}: read-only for members")
            discord_writes += 1
        elif resource.kind == ResourceKind.SERVER:
            name = str(resource.data.get("name", ""))
            if not name.startswith(ARCHIVED_PREFIX):
                changes.append(f"Discord server: renamed to {archived_name(name)!r}")
                discord_writes += 1
        elif resource.kind == ResourceKind.REPOSITORY and not resource.data.get("archived"):
            full_name = resource.data.get("full_name") or resource.key
            changes.append(f"GitHub repository {full_name}: archived (read-only)")
            github_writes += 1
    return {
        "courseId": str(course.id),
        "name": course.name,
        "type": course.type,
        "changes": changes,
        "githubWrites": github_writes,
        "discordWrites": discord_writes,
        "discordReads": DISCORD_READS_PER_COURSE if discord_writes else 0,
    }


def _start(
    *,
    course: Course,
    kind: str,
    params: dict[str, Any] | None = None,
    requested_by_key: ApiKey | None,
    requested_by_user: User | None,
) -> Operation:
    """Start ARCHIVE or UNARCHIVE on the idle course, checked against its archived mark under the
    row lock (two callers cannot both archive it)."""
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        if kind == Operation.Kind.ARCHIVE and locked.archived_at is not None:
            raise OperationNotAllowedError(
                f"Course {course.id} is already archived (since {locked.archived_at:%Y-%m-%d})."
            )
        failed = archive_failed(course=locked) if kind == Operation.Kind.UNARCHIVE else None
        if kind == Operation.Kind.UNARCHIVE and locked.archived_at is None and failed is None:
            raise OperationNotAllowedError(f"Course {course.id} is not archived.")
        operation = operation_start(
            course=locked,
            kind=kind,
            params=params,
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
            from_statuses=(Course.Status.COMPLETED, Course.Status.FAILED)
            if failed is not None
            else (Course.Status.COMPLETED,),
        )
        if failed is not None:
            # Its failed step would otherwise run first (the runner takes the oldest operation
            # with a step left) and fail the unarchive at once.
            failed.steps.filter(status__in=UNFINISHED).update(
                status=ProvisioningStep.Status.SKIPPED,
                last_error="Superseded by unarchive",
                finished_at=timezone.now(),
            )
    course.refresh_from_db()
    return operation


def archive_failed(*, course: Course) -> Operation | None:
    """The course's ARCHIVE that failed part way, when it is the last thing asked of the FAILED
    course: some channels may be read-only already and the server renamed, with no archived
    mark to unarchive from. An UNARCHIVE is then taken (besides a retry of the archive): each
    handler puts back only what carries a snapshot, so exactly what the archive changed."""
    if course.status != Course.Status.FAILED or course.archived_at is not None:
        return None
    latest = course.operations.order_by("-created_at", "-id").first()
    if latest is None or latest.kind != Operation.Kind.ARCHIVE:
        return None
    return latest if latest.status == Operation.Status.FAILED else None


def course_archive(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    """Start an ARCHIVE operation; refused (409) while another operation runs, when the course is
    already archived or its provisioning has not completed."""
    return _start(
        course=course,
        kind=Operation.Kind.ARCHIVE,
        requested_by_key=requested_by_key,
        requested_by_user=requested_by_user,
    )


def course_unarchive(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    """Start an UNARCHIVE operation; refused (409) while another operation runs or when the
    course is not archived. A course whose archive failed part way is taken too
    (``archive_failed``): the unarchive puts back what that archive had changed."""
    return _start(
        course=course,
        kind=Operation.Kind.UNARCHIVE,
        requested_by_key=requested_by_key,
        requested_by_user=requested_by_user,
    )


# -- a semester ----------------------------------------------------------------------------------
def semester_clean(semester: str) -> str:
    """The semester's one spelling; a ``ValidationError`` on ``semester`` otherwise (400)."""
    try:
        return semester_normalize(semester)
    except SemesterError as exc:
        raise ValidationError({"semester": [str(exc)]}) from exc


def _skip_reason(course: Course, *, busy: bool) -> str | None:
    """Why the semester's archive leaves the course out, or None when it archives it (``busy``:
    an operation of it is pending or running)."""
    if course.archived_at is not None:
        return "already archived"
    if course.status in Course.ACTIVE or course.run_token is not None or busy:
        return "busy: an operation is pending or running"
    if course.status != Course.Status.COMPLETED:
        return f"{course.status.lower()}: retry it (or fix its latest operation) first"
    return None


def _paced_seconds(*, count: int, windows: list[Window], spacing: float = 0.0) -> float:
    """When the last of ``count`` calls may go, the first at 0, under the shared rate limits'
    booking rule (``integrations.ratelimit.earliest_slot``) with nothing else spending them: the
    rule ``imports.costs`` estimates with (that module sits above provisioning)."""
    booked: list[float] = []
    for _ in range(count):
        booked.append(earliest_slot(booked, 0.0, windows, spacing))
    return booked[-1] if booked else 0.0


def archive_estimated_seconds(*, github_writes: int, discord_calls: int) -> float:
    """The least time the writes take under ``GITHUB_WRITE_BUDGET`` (and its spacing) and
    ``DISCORD_GLOBAL_LIMIT``, whichever binds; the platforms' latency is not counted."""
    github = _paced_seconds(
        count=github_writes,
        windows=parse_windows(settings.GITHUB_WRITE_BUDGET),
        spacing=float(settings.GITHUB_SECONDS_BETWEEN_WRITES),
    )
    discord = _paced_seconds(
        count=discord_calls, windows=[(int(settings.DISCORD_GLOBAL_LIMIT), 1.0)]
    )
    return round(max(github, discord), 1)


def _semester_split(semester: str) -> tuple[list[Course], list[dict[str, Any]]]:
    """The semester's live courses an archive takes, and those it leaves out with the reason
    (``{"courseId", "name", "reason"}``): one query for the courses, one for their busy ones."""
    courses = list(
        Course.objects.filter(semester=semester, deleted_at__isnull=True).order_by("name", "id")
    )
    active = Operation.objects.filter(
        course__semester=semester, course__deleted_at__isnull=True, status__in=Operation.ACTIVE
    )
    busy = set(active.values_list("course_id", flat=True))
    eligible: list[Course] = []
    skipped: list[dict[str, Any]] = []
    for course in courses:
        reason = _skip_reason(course, busy=course.id in busy)
        if reason is None:
            eligible.append(course)
        else:
            skipped.append({"courseId": str(course.id), "name": course.name, "reason": reason})
    return eligible, skipped


def semester_archive_plan(*, semester: str) -> dict[str, Any]:
    """``{"semester", "courses": [archive_plan...], "skipped": [{"courseId", "reason"}],
    "githubWrites", "discordWrites", "estimatedSeconds"}``; writes nothing."""
    semester = semester_clean(semester)
    eligible, skipped = _semester_split(semester)
    plans = [archive_plan(course=course) for course in eligible]
    github_writes = sum(plan["githubWrites"] for plan in plans)
    discord_writes = sum(plan["discordWrites"] for plan in plans)
    discord_reads = sum(plan["discordReads"] for plan in plans)
    return {
        "semester": semester,
        "courses": plans,
        "skipped": skipped,
        "githubWrites": github_writes,
        "discordWrites": discord_writes,
        "estimatedSeconds": archive_estimated_seconds(
            github_writes=github_writes, discord_calls=discord_writes + discord_reads
        ),
    }


@dataclass
class SemesterArchive:
    """What ``semester_archive_start`` did: the operations started, and the courses left out."""

    semester: str
    operations: list[Operation] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def semester_archive_start(
    *, semester: str, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> SemesterArchive:
    """One ARCHIVE per eligible course of the semester, each in its own transaction. A course
    found busy (or archived) meanwhile is skipped with the reason, not fatal to the others."""
    semester = semester_clean(semester)
    eligible, skipped = _semester_split(semester)  # no plan: its counts are not needed here
    result = SemesterArchive(semester=semester, skipped=skipped)
    for course in eligible:
        try:
            operation = _start(
                course=course,
                kind=Operation.Kind.ARCHIVE,
                params={"semester": semester},
                requested_by_key=requested_by_key,
                requested_by_user=requested_by_user,
            )
        except (OperationBusyError, OperationNotAllowedError) as exc:
            reason = {"courseId": str(course.id), "name": course.name, "reason": str(exc)}
            result.skipped.append(reason)
            continue
        result.operations.append(operation)
    return result


def semester_archive(
    *, semester: str, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> list[Operation]:
    """Start an ARCHIVE for every eligible course of the semester (``semester_archive_start``);
    the operations started."""
    return semester_archive_start(
        semester=semester, requested_by_key=requested_by_key, requested_by_user=requested_by_user
    ).operations
