"""Read models of provisioning, shared by the CLI, the API and the admin."""

from __future__ import annotations

from typing import Any

from courses.models import Course
from provisioning.models import ExternalResource, ProvisioningStep


def course_status(*, course: Course) -> dict[str, Any]:
    """``{courseId, courseStatus, progress: {completed, total}, steps: [...]}``."""
    steps = list(course.steps.order_by("order"))
    done = sum(step.status in ProvisioningStep.DONE for step in steps)
    return {
        "courseId": str(course.id),
        "courseStatus": course.status,
        "progress": {"completed": done, "total": len(steps)},
        "steps": [
            {
                "stepName": step.name,
                "status": step.status,
                "attempts": step.attempts,
                "lastError": step.last_error or None,
                "startedAt": step.started_at.isoformat() if step.started_at else None,
                "finishedAt": step.finished_at.isoformat() if step.finished_at else None,
            }
            for step in steps
        ],
    }


def failed_step(*, course: Course) -> ProvisioningStep | None:
    return course.steps.filter(status=ProvisioningStep.Status.FAILED).order_by("order").first()


# What a person asks of a finished course: where its server, channels and repositories are.
SHOWN_KINDS = ("server", "channel", "role", "repository")


def course_made(*, course: Course) -> list[ExternalResource]:
    """The course's confirmed server, channels, roles and repositories, in the order made."""
    return list(
        ExternalResource.objects.filter(
            course=course, state=ExternalResource.State.CONFIRMED, kind__in=SHOWN_KINDS
        ).order_by("id")
    )
