"""Archive and unarchive a course (semester end), one course or a whole semester, with a plan.

TO BE WRITTEN (helper: archive). Signatures are fixed: the CLI and the admin call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from courses.models import Course
from provisioning.models import Operation

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def archive_plan(*, course: Course) -> dict[str, Any]:
    """What archiving the course would change and the writes it costs (reads the database only):
    ``{"courseId", "changes": [str, ...], "githubWrites": int, "discordWrites": int}``."""
    raise NotImplementedError


def course_archive(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    raise NotImplementedError


def course_unarchive(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    raise NotImplementedError


def semester_archive_plan(*, semester: str) -> dict[str, Any]:
    """``{"semester", "courses": [archive_plan...], "skipped": [{"courseId", "reason"}],
    "githubWrites", "discordWrites", "estimatedSeconds"}``; writes nothing."""
    raise NotImplementedError


def semester_archive(
    *, semester: str, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> list[Operation]:
    raise NotImplementedError
