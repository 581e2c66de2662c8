"""Provisioning services: plan a course's steps, start and retry its provisioning."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.models import SystemEvent
from audit.services import system_event_record
from config.celery import runs_in_process
from courses.models import Course
from provisioning.models import ProvisioningStep
from provisioning.steps import steps_for


class CourseBusyError(Exception):
    """The course is being provisioned right now."""


class NothingToRetryError(Exception):
    """The course has no failed step."""


def provisioning_plan(*, course: Course) -> list[ProvisioningStep]:
    """One PENDING step row per step of the course's type."""
    return ProvisioningStep.objects.bulk_create(
        ProvisioningStep(course=course, name=name, order=order)
        for order, name in enumerate(steps_for(course.type), start=1)
    )


def provisioning_enqueue(*, course: Course) -> None:
    """Queue the provisioning task once the current transaction commits.

    Enqueuing inside the transaction could let a worker start before the course row exists.
    """
    course_id = str(course.id)
    transaction.on_commit(lambda: provisioning_send(course_id=course_id))


def provisioning_send(*, course_id: str) -> None:
    """Publish the task; if the broker is unreachable, the course stays PENDING, not lost.

    The recovery sweep enqueues it once the broker is back (provisioning.recovery).
    """
    from provisioning.tasks import provision_course

    if runs_in_process():
        provision_course.delay(course_id)  # in-process: a failure here is a bug, let it show
        return
    try:
        provision_course.delay(course_id)
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
    if locked.status == Course.Status.IN_PROGRESS or locked.run_token is not None:
        raise CourseBusyError(f"Course {course.id} is being provisioned right now.")
    failed = locked.steps.filter(status=ProvisioningStep.Status.FAILED)
    if locked.status != Course.Status.FAILED or not failed.exists():
        raise NothingToRetryError(f"Course {course.id} has no failed step to retry.")
    failed.update(status=ProvisioningStep.Status.PENDING, finished_at=None)
    locked.status = Course.Status.PENDING
    locked.updated_at = timezone.now()
    locked.save(update_fields=["status", "updated_at"])
    provisioning_enqueue(course=locked)
    return locked
