"""Read models of provisioning, shared by the CLI, the API and the admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from courses.models import Course
from provisioning.models import ExternalResource, Operation, ProvisioningStep, StepAttempt


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


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def course_operations(*, course: Course) -> list[dict[str, Any]]:
    """The course's operations, oldest first, each with its steps and every attempt of them."""
    return _operations_json(Operation.objects.filter(course=course))


def operations_json(*, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The operations ``ids`` (of any courses), by id, each as ``course_operations`` lists it:
    three queries however many there are."""
    return {body["id"]: body for body in _operations_json(Operation.objects.filter(id__in=ids))}


def _operations_json(operations: QuerySet[Operation]) -> list[dict[str, Any]]:
    attempts = Prefetch("attempt_log", queryset=StepAttempt.objects.order_by("number", "id"))
    steps = Prefetch(
        "steps", queryset=ProvisioningStep.objects.order_by("order").prefetch_related(attempts)
    )
    operations = (
        operations.select_related("requested_by_key", "requested_by_user")
        .prefetch_related(steps)
        .order_by("created_at", "id")
    )
    return [
        {
            "id": operation.id,
            "kind": operation.kind,
            "status": operation.status,
            "params": operation.params,
            "requestedBy": {
                "apiKey": operation.requested_by_key.name if operation.requested_by_key else None,
                "user": operation.requested_by_user.get_username()
                if operation.requested_by_user
                else None,
            },
            "createdAt": _iso(operation.created_at),
            "startedAt": _iso(operation.started_at),
            "finishedAt": _iso(operation.finished_at),
            "steps": [
                {
                    "stepName": step.name,
                    "status": step.status,
                    "lastError": step.last_error or None,
                    "startedAt": _iso(step.started_at),
                    "finishedAt": _iso(step.finished_at),
                    "attempts": [
                        {
                            "number": attempt.number,
                            "outcome": attempt.outcome,
                            "error": attempt.error or None,
                            "retryAfter": attempt.retry_after,
                            "startedAt": _iso(attempt.started_at),
                            "finishedAt": _iso(attempt.finished_at),
                        }
                        for attempt in step.attempt_log.all()
                    ],
                }
                for step in operation.steps.all()
            ],
        }
        for operation in operations
    ]
