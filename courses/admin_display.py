"""Small pieces shared by the admins of courses, provisioning and audit: badges, links, filters.

Kept apart from the ``admin.py`` modules so that each app's admin can use them without importing
another app's admin (and registering its models as a side effect).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Model, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from courses.models import Course
from provisioning.models import ExternalResource

# Each status maps to one of the tones styled in templates/admin/base_site.html.
TONES: dict[str, str] = {
    # courses
    "PENDING": "neutral",
    "IN_PROGRESS": "running",
    "COMPLETED": "success",
    "FAILED": "failure",
    # steps and job executions
    "RUNNING": "running",
    "SKIPPED": "warning",
    "DEFERRED": "warning",
    "BUSY": "neutral",
    "CRASHED": "failure",
    # pool servers and external resources
    "available": "success",
    "claimed": "neutral",
    "intended": "warning",
    "confirmed": "success",
}


def badge(value: str, label: str, tone: str | None = None) -> SafeString:
    """A coloured pill for a status; the label is escaped."""
    return format_html(
        '<span class="status-badge status-{}">{}</span>', tone or TONES.get(value, "neutral"), label
    )


def audit_status_badge(status: int | None) -> SafeString:
    """The response status, coloured by class: 2xx, 3xx, 4xx, 5xx, or no response at all."""
    if status is None:
        return badge("", "no response", "failure")
    tone = {2: "success", 3: "neutral", 4: "warning"}.get(status // 100, "failure")
    return badge(str(status), str(status), tone)


def course_link(course: Course | None) -> SafeString | str:
    """A link to the course's admin page, or the admin's dash for none."""
    if course is None:
        return "-"
    url = reverse("admin:courses_course_change", args=[course.pk])
    return format_html('<a href="{}">{}</a>', url, course)


def external_link(url: str, label: str = "") -> SafeString | str:
    """A link that opens Discord or GitHub in a new tab, or a dash when there is none."""
    if not url:
        return "-"
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label or url)


def resource_url(resource: ExternalResource) -> str:
    """Where staff can see the resource: the recorded URL, else one derived from its ids."""
    if resource.url:
        return resource.url
    guild_id = resource.course.discord_guild_id
    if resource.provider == ExternalResource.Provider.DISCORD and resource.external_id and guild_id:
        if resource.kind == "channel":
            return f"https://discord.com/channels/{guild_id}/{resource.external_id}"
        if resource.kind == "server":
            return f"https://discord.com/channels/{guild_id}"
    return ""


def when(value: datetime | None, *, with_seconds: bool = False) -> str:
    """A compact local time for dense tables (``2026-09-01 14:05``); a dash when unknown."""
    if value is None:
        return "-"
    return date_format(localtime(value), "Y-m-d H:i:s" if with_seconds else "Y-m-d H:i")


def resource_label(resource: ExternalResource) -> str:
    """What to call a resource in a link: its repository's full name, #channel, or its id."""
    data = resource.data if isinstance(resource.data, dict) else {}
    if data.get("full_name"):
        return data["full_name"]
    if resource.kind == "channel" and data.get("name"):
        return f"#{data['name']}"
    if resource.kind == "seed" and resource.external_id:
        return f"commit {resource.external_id[:12]}"
    if resource.kind == "protection" and resource.external_id:
        return f"rules of {resource.external_id}"
    return data.get("name") or resource.external_id


def seconds(value: float | None) -> str:
    """A duration for people: ``0.4 s``, ``12 s``, ``3 min 5 s``; a dash when unknown."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.1f} s"
    if value < 60:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s"


def admin_changelist_url(model: type[Model], **params: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


class ReadOnlyMixin:
    """Rows only the system writes: never added, changed or deleted by anyone, superusers
    included. For model admins and inlines alike."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Rows only the system writes (audit, steps, runs): viewable with the view permission."""

    actions = None


class CourseFilter(admin.SimpleListFilter):
    """Filter rows by their course, for any model with a ``course`` foreign key.

    The stock related-field filters list every course (thousands of links) or scan the filtered
    table for the distinct courses in it (200,000 audit rows on every page view). This one offers
    the most recent courses, plus the selected one; any course is reachable as ``?course=<id>``,
    which is what the course page links to.
    """

    title = "course"
    parameter_name = "course"
    recent = 10

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        recent = Course.objects.order_by("-created_at").values("pk")[: self.recent]
        wanted = Q(pk__in=Subquery(recent))
        selected = _as_uuid(self.value())
        if selected is not None:
            wanted |= Q(pk=selected)
        courses = Course.objects.only("id", "name", "semester").filter(wanted)  # one query
        return [(str(course.pk), str(course)) for course in courses.order_by("-created_at")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        course_id = _as_uuid(self.value())
        if course_id is None:  # the change list's usual "invalid filter" redirect (?e=1)
            raise IncorrectLookupParameters(f"{self.value()!r} is not a course id")
        return queryset.filter(course_id=course_id)


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
