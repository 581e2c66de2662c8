"""Repair a course: put back what its latest verify found missing or changed.

TO BE WRITTEN (helper: repair). Signatures are fixed: the CLI and the admin call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from courses.models import Course
from provisioning.models import Operation

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def repair_plan(*, course: Course) -> dict[str, Any]:
    """What a repair would put back, from the latest drift report (reads the database only):
    ``{"courseId", "changes": [str, ...], "checkedAt": str | None}``."""
    raise NotImplementedError


def course_repair(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    raise NotImplementedError
