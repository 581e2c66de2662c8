"""Reads behind the course endpoints."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from audit.models import AuditLog
from courses.models import Course
from provisioning.models import ExternalResource


def course_list(*, filters: dict[str, Any]) -> QuerySet[Course]:
    """Courses, newest first, filtered by exact status, type and semester, and name contains."""
    courses = Course.objects.prefetch_related("lab_groups").order_by("-created_at", "id")
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
