"""Provisioning services: plan a course's steps, start and retry its provisioning.

Starting a run goes one way whatever runs it (``config.celery.execution_mode``): the Celery task by
name, a background thread of this process, or inline. This module imports neither the task
module nor the recovery sweep: those import it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.models import SystemEvent
from audit.services import system_event_record
from config.celery import BACKGROUND, INLINE, execution_mode
from config.celery import app as celery_app
from courses.models import Course
from provisioning.background import background_submit
from provisioning.models import Operation, ProvisioningStep
from provisioning.runner import run_course
from provisioning.steps import StepName, steps_for

# Sent by name: the task module imports the recovery sweep, which imports this module.
PROVISION_TASK = "provisioning.tasks.provision_course"
# A hint to the broker about which message to deliver first. Redis (our broker) serves priority 0
# first and buckets the rest in steps of 3; an unset priority counts as 0, so every send names one.
BROKER_PRIORITY: dict[str, int] = {
    Course.Priority.HIGH: 0,
    Course.Priority.NORMAL: 3,
    Course.Priority.LOW: 6,
}


class CourseBusyError(Exception):
    """The course is being provisioned right now."""


class NothingToRetryError(Exception):
    """The course has no failed step."""


def provisioning_plan(*, course: Course) -> list[ProvisioningStep]:
    """The course's PROVISION operation: one PENDING step row per step of the course's type,
    numbered after its earlier ones (a new course's are written with it: provisioning_plan_rows).
    """
    operation = _provision_operation(course)
    operation.save()
    return operation_plan(operation=operation, steps=steps_for(course.type))


def provisioning_plan_rows(*, course: Course) -> tuple[Operation, list[ProvisioningStep]]:
    """A new course's PROVISION operation and its PENDING steps, built but not saved: the
    course's creation writes them with the course, in one statement (common.rows)."""
    operation = _provision_operation(course)
    steps = [
        ProvisioningStep(course=course, operation=operation, name=name, order=order)
        for order, name in enumerate(steps_for(course.type), start=1)
    ]
    return operation, steps


def _provision_operation(course: Course) -> Operation:
    """The course's PROVISION operation, asked by whoever created the course (not saved)."""
    return Operation(
        course=course,
        kind=Operation.Kind.PROVISION,
        requested_by_key=course.created_by_key,
        requested_by_user=course.created_by_user,
    )


def operation_plan(*, operation: Operation, steps: tuple[StepName, ...]) -> list[ProvisioningStep]:
    """The operation's PENDING steps, numbered after the course's earlier ones."""
    last = (
        ProvisioningStep.objects.filter(course_id=operation.course_id)
        .order_by("-order")
        .values_list("order", flat=True)
        .first()
    ) or 0
    return ProvisioningStep.objects.bulk_create(
        ProvisioningStep(course_id=operation.course_id, operation=operation, name=name, order=order)
        for order, name in enumerate(steps, start=last + 1)
    )


def provisioning_enqueue(*, course: Course) -> None:
    """Queue the provisioning task once the current transaction commits.

    Enqueuing inside the transaction could let a worker start before the course row exists.
    """
    course_id, priority = str(course.id), course.priority
    transaction.on_commit(lambda: provisioning_send(course_id=course_id, priority=priority))


def provisioning_send(*, course_id: str, priority: str = Course.Priority.NORMAL) -> None:
    """Start the course's run where this process runs provisioning (``execution_mode``).

    With a broker, publish the task; if the broker is unreachable, the course stays PENDING, not
    lost: the recovery sweep enqueues it once the broker is back (provisioning.recovery).
    """
    mode = execution_mode()
    if mode == INLINE:
        run_course(course_id)  # a failure here is a bug: let it show
        return
    if mode == BACKGROUND:
        background_submit(course_id=course_id, priority=priority)  # the pool's queue order
        return
    try:
        celery_app.send_task(
            PROVISION_TASK,
            args=[course_id],
            priority=BROKER_PRIORITY.get(priority, BROKER_PRIORITY[Course.Priority.NORMAL]),
        )
    except Exception as exc:  # kombu's OperationalError and friends: the broker is away
        system_event_record(
            kind=SystemEvent.Kind.ENQUEUE_FAILED,
            message=f"Could not enqueue course {course_id} ({exc.__class__.__name__}: {exc}); "
            "it stays PENDING until the recovery sweep enqueues it.",
            course_id=course_id,
            severity=SystemEvent.Severity.ERROR,
        )


@transaction.atomic
def provisioning_retry(*, course: Course) -> Course:
    """Reset failed steps to pending and run again; completed steps will be skipped."""
    locked = Course.objects.select_for_update().get(id=course.id)
    if locked.deleted_at is not None:  # torn down: a record only (provisioning.teardown)
        raise NothingToRetryError(f"Course {course.id} was torn down: nothing to retry.")
    if locked.status == Course.Status.IN_PROGRESS or locked.run_token is not None:
        raise CourseBusyError(f"Course {course.id} is being provisioned right now.")
    # A failed check (Operation.READ_ONLY) is final: retrying the course does not run it again.
    failed = locked.steps.filter(status=ProvisioningStep.Status.FAILED).exclude(
        operation__kind__in=Operation.READ_ONLY
    )
    if locked.status != Course.Status.FAILED or not failed.exists():
        raise NothingToRetryError(f"Course {course.id} has no failed step to retry.")
    Operation.objects.filter(steps__in=failed).update(
        status=Operation.Status.PENDING, finished_at=None
    )
    failed.update(status=ProvisioningStep.Status.PENDING, finished_at=None)
    locked.status = Course.Status.PENDING
    locked.updated_at = timezone.now()
    locked.save(update_fields=["status", "updated_at"])
    provisioning_enqueue(course=locked)
    return locked
