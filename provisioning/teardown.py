"""Tear a course down: remove what it recorded as made, keep its row as a soft-deleted record.

TO BE WRITTEN (helper: teardown). Signatures are fixed: the CLI and the admin call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from courses.models import Course
from provisioning.models import Operation

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def teardown_plan(*, course: Course) -> dict[str, Any]:
    """What tearing the course down would remove (reads the database only):
    ``{"courseId", "changes": [str, ...], "githubWrites": int, "discordWrites": int}``."""
    raise NotImplementedError


def course_teardown(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    raise NotImplementedError
