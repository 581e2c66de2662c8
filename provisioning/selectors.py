"""Read models of provisioning, shared by the CLI, the API and the admin."""

from __future__ import annotations

from typing import Any

from courses.models import Course
from provisioning.models import ProvisioningStep


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
