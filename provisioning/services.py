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
from provisioning.models import ProvisioningStep
from provisioning.runner import run_course
from provisioning.steps import steps_for

# Sent by name: the task module imports the recovery sweep, which imports this module.
PROVISION_TASK = "provisioning.tasks.provision_course"


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
    """Start the course's run where this process runs provisioning (``execution_mode``).

    With a broker, publish the task; if the broker is unreachable, the course stays PENDING, not
    lost: the recovery sweep enqueues it once the broker is back (provisioning.recovery).
    """
    mode = execution_mode()
    if mode == INLINE:
        run_course(course_id)  # a failure here is a bug: let it show
        return
    if mode == BACKGROUND:
        background_submit(course_id=course_id)
        return
    try:
        celery_app.send_task(PROVISION_TASK, args=[course_id])
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
