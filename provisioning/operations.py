"""Start an operation on a course: one at a time, its steps planned, its run enqueued on commit.

An operation is provisioning or a change to a provisioned course (``CHANGE_STEPS``): a new
capability is a list of steps and their handlers in ``provisioning.steps``, run by the same
runner under the same guarantees. While an operation of a course is pending or running, another
is refused (``OperationBusyError``, a 409 in the API) rather than queued: the caller sees at once
that its change did not start, and asks again once the course is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone

from courses.models import Course
from provisioning.models import ExternalResource, Operation
from provisioning.services import CourseBusyError, operation_plan, provisioning_enqueue
from provisioning.steps import CHANGE_STEPS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


class OperationBusyError(CourseBusyError):
    """Another operation of the course is pending or running (409)."""


class OperationNotAllowedError(CourseBusyError):
    """The course is not in a state this operation can start from (409, with what to do)."""


class CourseDeletedError(OperationNotAllowedError):
    """The course was torn down: its row is a record only, nothing more is done with it (409)."""


# An archived course is read-only on the platforms: only these may start on it (a rename or a
# repair would write to archived repositories, which GitHub refuses). Not the roster sync either:
# provisioning.people refuses an archived course (its semester is over).
KINDS_ALLOWED_ON_ARCHIVED = (
    Operation.Kind.VERIFY,
    Operation.Kind.UNARCHIVE,
    Operation.Kind.TEARDOWN,
)


def course_lock_idle(*, course: Course) -> Course:
    """The course's row, locked, when no operation of it is pending or running (call inside a
    transaction); ``OperationBusyError`` otherwise, ``CourseDeletedError`` once torn down."""
    locked = Course.objects.select_for_update().get(id=course.id)
    if locked.deleted_at is not None:
        raise CourseDeletedError(
            f"Course {course.id} was torn down on {locked.deleted_at:%Y-%m-%d %H:%M} UTC: it is "
            "kept as a record only. Create a new course instead."
        )
    running = locked.operations.filter(status__in=Operation.ACTIVE).first()
    if locked.status in Course.ACTIVE or locked.run_token is not None or running is not None:
        what = running.get_kind_display().lower() if running else "provisioning"
        raise OperationBusyError(
            f"Course {course.id} is busy ({what} is pending or running); "
            "try again once it has finished."
        )
    return locked


def discord_confirmed(*, course: Course) -> bool:
    """Whether anything of the course exists in its Discord server (its rename counts)."""
    return ExternalResource.objects.filter(
        course=course,
        provider=ExternalResource.Provider.DISCORD,
        state=ExternalResource.State.CONFIRMED,
    ).exists()


def operation_start(
    *,
    course: Course,
    kind: str,
    params: dict[str, Any] | None = None,
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
    from_statuses: tuple[str, ...] = (Course.Status.COMPLETED,),
) -> Operation:
    """Plan a change operation on a locked, idle course (``course_lock_idle``) and enqueue it.

    Call inside the transaction that made the change to the course's rows: the run starts after
    it commits, and the course shows as pending until then. ``from_statuses``: the course
    statuses the operation may start from (a tear down also takes a FAILED course).
    """
    if course.archived_at is not None and kind not in KINDS_ALLOWED_ON_ARCHIVED:
        raise OperationNotAllowedError(
            f"Course {course.id} is archived: unarchive it first ({kind} is refused while "
            "archived)."
        )
    if course.status not in from_statuses:
        raise OperationNotAllowedError(
            f"Course {course.id} is {course.status}: its provisioning must complete first "
            "(retry its failed steps)."
        )
    operation = Operation.objects.create(
        course=course,
        kind=kind,
        params=params or {},
        requested_by_key=requested_by_key,
        requested_by_user=requested_by_user,
    )
    operation_plan(operation=operation, steps=CHANGE_STEPS[kind])
    Course.objects.filter(id=course.id).update(
        status=Course.Status.PENDING, updated_at=timezone.now()
    )
    course.status = Course.Status.PENDING
    provisioning_enqueue(course=course)
    return operation
