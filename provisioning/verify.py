"""Start a verify of a course, and read its latest drift report (``provisioning.drift`` compares).

Apart from ``provisioning.drift`` because the step's handler imports that, and the runner the
handler: starting an operation (``provisioning.operations``) sits above the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from courses.models import Course
from provisioning.models import DriftReport, Operation
from provisioning.operations import course_lock_idle, operation_start

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def course_verify(
    *,
    course: Course,
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
) -> Operation:
    """Start a VERIFY operation (one step, reads only); refused while another operation runs."""
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        operation = operation_start(
            course=locked,
            kind=Operation.Kind.VERIFY,
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
        )
    course.refresh_from_db()
    return operation


def drift_report_latest(*, course: Course) -> DriftReport | None:
    return course.drift_reports.order_by("-checked_at", "-id").first()


def drift_report_json(*, report: DriftReport) -> dict[str, Any]:
    """The report as the API and the CLI show it (camelCase)."""
    return {
        "courseId": str(report.course_id),
        "checkedAt": report.checked_at.isoformat().replace("+00:00", "Z"),
        "drifted": report.drifted,
        "resources": report.resources,
    }
