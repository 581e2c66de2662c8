"""Reads behind the import endpoints, the admin and the command."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from api.models import ApiKey
from imports.models import Import, ImportRow


def imports_visible(*, api_key: ApiKey | None) -> QuerySet[Import]:
    """A key sees its own imports, an admin key (or a staff session) all of them: the rule of
    ``courses.api.selectors.courses_visible``."""
    if api_key is None or api_key.is_admin:
        return Import.objects.all()
    return Import.objects.filter(created_by_key=api_key)


def import_rows(*, record: Import) -> QuerySet[ImportRow]:
    return record.rows.select_related("course").order_by("line")


def import_counts(*, record: Import) -> dict[str, Any]:
    """Rows by outcome and the created courses by status."""
    counts = {"rows": 0, "created": 0, "invalid": 0, "notCreated": 0}
    courses = {"pending": 0, "inProgress": 0, "completed": 0, "failed": 0}
    key: dict[str, str] = {
        ImportRow.Outcome.CREATED: "created",
        ImportRow.Outcome.INVALID: "invalid",
        ImportRow.Outcome.NOT_CREATED: "notCreated",
    }
    status_key = {
        "PENDING": "pending",
        "IN_PROGRESS": "inProgress",
        "COMPLETED": "completed",
        "FAILED": "failed",
    }
    for outcome, status in record.rows.values_list("outcome", "course__status"):
        counts["rows"] += 1
        counts[key[outcome]] += 1
        if status in status_key:
            courses[status_key[status]] += 1
    return {**counts, "courses": courses}
