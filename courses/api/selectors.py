"""Reads behind the course endpoints."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from api.models import ApiKey
from audit.models import AuditLog
from courses.models import Course
from provisioning.models import ExternalResource


def courses_visible(*, api_key: ApiKey | None) -> QuerySet[Course]:
    """The courses a caller may see and act on: a key its own, an admin key all of them.

    ``api_key`` None is a staff session, already held to ``courses.view_course`` (which shows
    every course in the admin too).
    """
    if api_key is None or api_key.is_admin:
        return Course.objects.all()
    return Course.objects.filter(created_by_key=api_key)


def course_list(
    *, filters: dict[str, Any], courses: QuerySet[Course] | None = None
) -> QuerySet[Course]:
    """Courses (of ``courses``, by default all), newest first, filtered by exact status, type and
    semester, and name contains. Torn-down courses only with ``deleted`` (they stay readable one
    by one: their row is the record of what was made and removed)."""
    courses = (
        (Course.objects.all() if courses is None else courses)
        .prefetch_related("lab_groups")
        .order_by("-created_at", "id")
    )
    if not filters.get("deleted"):
        courses = courses.filter(deleted_at__isnull=True)
    for field in ("status", "type", "semester"):
        if filters.get(field):
            courses = courses.filter(**{field: filters[field]})
    if filters.get("search"):
        courses = courses.filter(name__icontains=filters["search"])
    return courses


def course_resources(*, course: Course) -> QuerySet[ExternalResource]:
    return ExternalResource.objects.filter(course=course).select_related("lab_group").order_by("id")


def course_audit_log(*, course: Course) -> QuerySet[AuditLog]:
    """The course's calls to Discord and GitHub, newest first."""
    return AuditLog.objects.filter(course=course).order_by("-created_at", "-id")
