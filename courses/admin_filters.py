"""List filters of the course admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest

from courses.models import Course


class DeletedFilter(admin.SimpleListFilter):
    """Torn-down courses (``deleted_at``) are records, hidden from the list unless asked for.

    Only the list: a torn-down course's own page still opens (its operations say what was made
    and removed).
    """

    title = "torn down"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Torn down"), ("all", "All, torn down included")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Course]) -> QuerySet[Course]:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        # Django's first choice ("All") means no parameter, which here shows the live courses.
        for number, choice in enumerate(super().choices(changelist)):
            if number == 0:
                choice["display"] = "Live"
            yield choice
