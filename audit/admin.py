"""Read-only admin of the audit trail (NetBox's habit: a change log nobody edits, superusers
included).

The table grows by one row per HTTP call, so every page here is built to stay cheap on hundreds
of thousands of rows: the course is joined in the page query, no full ``COUNT(*)`` (a capped
count, or PostgreSQL's estimate), no facet counts, and sidebar filters that list fixed choices
instead of scanning the table for distinct values.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from audit.models import AuditLog, SystemEvent
from audit.step_names import step_names
from common.admin_blocks import (
    CourseFilter,
    ReadOnlyAdmin,
    column,
    course_column,
    http_status_badge,
    milliseconds_column,
    time_column,
)


class CappedCountPaginator(Paginator):
    """A paginator that never counts the whole table.

    It counts at most ``cap`` rows (``SELECT COUNT(*) FROM (... LIMIT cap + 1)``). Past the cap,
    an unfiltered list on PostgreSQL takes the planner's estimate of the table's size; otherwise
    the count stays at the cap, so pages past it are not offered: filter to narrow the list.
    """

    object_list: QuerySet[Any]  # the admin's change list always pages a queryset
    cap = 10_000
    count_qualifier = ""  # "about " or "more than " once the count is not exact

    @cached_property
    def count(self) -> int:
        counted = self.object_list.order_by()[: self.cap + 1].count()
        if counted <= self.cap:
            self.count_qualifier = ""
            return counted
        estimate = _postgres_row_estimate(self.object_list)
        if estimate is not None and estimate > self.cap:
            self.count_qualifier = "about "
            return estimate
        self.count_qualifier = "more than "
        return self.cap


def _postgres_row_estimate(queryset: QuerySet) -> int | None:
    """The planner's row count of the table, for an unfiltered queryset on PostgreSQL."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or queryset.query.where:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    # -1 until the table was first analyzed (PostgreSQL 14+), 0 on older versions.
    return int(row[0]) if row and row[0] and row[0] > 0 else None


def pretty_json(value: Any) -> SafeString | str:
    """JSON indented for reading, escaped, in a ``<pre>``."""
    if value is None or value == "":
        return "-"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre class="json">{}</pre>', text)


def pretty_text(text: str) -> SafeString | str:
    """A response excerpt: indented when it is whole JSON, as it came otherwise (it may be cut)."""
    if not text:
        return "-"
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        return format_html('<pre class="json">{}</pre>', text)


# --- audit log ----------------------------------------------------------------------------------


class StatusClassFilter(admin.SimpleListFilter):
    title = "response status"
    parameter_name = "status_class"
    RANGES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [*((key, key) for key in self.RANGES), ("none", "No response")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "none":
            return queryset.filter(response_status__isnull=True)
        if value in self.RANGES:
            low, high = self.RANGES[value]
            return queryset.filter(response_status__gte=low, response_status__lt=high)
        return queryset


class StepFilter(admin.SimpleListFilter):
    """The registered steps (``audit.step_names``), in their order: no ``SELECT DISTINCT`` over
    the table."""

    title = "step"
    parameter_name = "step"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [(name, name) for name in step_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(step=self.value()) if self.value() else queryset


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = (
        "time",
        "provider",
        "request",
        "status",
        "duration",
        "course_link",
        "step_attempt",
    )
    list_filter = ("provider", StatusClassFilter, CourseFilter, StepFilter)
    list_select_related = ("course",)
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        ("Request", {"fields": ("provider", ("method", "route"), "url", "request_json")}),
        ("Response", {"fields": (("status", "duration"), "response_json", "error")}),
        ("Context", {"fields": ("course_link", ("step", "attempt"), "task_id", "created_at")}),
    )
    time = time_column("created_at", description="time", with_seconds=True)
    status = column(
        lambda entry: http_status_badge(entry.response_status),
        description="status",
        ordering="response_status",
    )
    duration = milliseconds_column("duration_ms")
    course_link = course_column()

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        # Filtered to one course (as the course page links here), its name on each row is noise.
        if CourseFilter.parameter_name in request.GET:
            return tuple(name for name in self.list_display if name != "course_link")
        return self.list_display

    @admin.display(description="request")
    def request(self, entry: AuditLog) -> SafeString:
        # Long routes may wrap after a slash, never inside a name.
        route = mark_safe(
            "/<wbr>".join(conditional_escape(part) for part in entry.route.split("/"))
        )
        return format_html("{} {}", entry.method, route)

    @admin.display(description="step", ordering="step")
    def step_attempt(self, entry: AuditLog) -> str:
        if not entry.step:
            return "-"
        return f"{entry.step} #{entry.attempt}" if entry.attempt else entry.step

    @admin.display(description="request body")
    def request_json(self, entry: AuditLog) -> SafeString | str:
        return pretty_json(entry.request_body)

    @admin.display(description="response")
    def response_json(self, entry: AuditLog) -> SafeString | str:
        return pretty_text(entry.response_excerpt)


@admin.register(SystemEvent)
class SystemEventAdmin(ReadOnlyAdmin):
    """What operators must notice (recovered runs, exhausted retries, limits hit): read-only."""

    list_display = ("time", "severity", "kind", "message", "course_link")
    list_filter = ("severity", "kind", CourseFilter)
    list_select_related = ("course",)
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("created_at", "severity", "kind", "message", "course_link", "data_json")
    time = time_column("created_at", description="time", with_seconds=True)
    course_link = course_column()

    @admin.display(description="data")
    def data_json(self, event: SystemEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, sort_keys=True))
