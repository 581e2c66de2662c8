"""What every app's admin shares: status badges, links, durations and times, ready-made columns,
the read-only base, and the course filter.

Neutral ground: this module imports no app of the project (a course is reached by its admin URL
name and through a model's ``course`` foreign key, never by importing ``courses``), so the admins
of courses, provisioning, audit and api can all use it without importing one another.

A column helper returns a method to assign in a ``ModelAdmin`` or inline class body; its name
there is the name used in ``list_display`` and ``fields``::

    status_badge = badge_column("status")
    course_link = course_column()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin, IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Model, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

# Each status maps to one of the tones styled in config/templates/admin/base_site.html.
TONES: dict[str, str] = {
    # courses, and steps
    "PENDING": "neutral",
    "IN_PROGRESS": "running",
    "COMPLETED": "success",
    "FAILED": "failure",
    # steps before IN_PROGRESS (kept while old rows may carry it), and job executions
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


# --- values -------------------------------------------------------------------------------------
def badge(value: str, label: str, tone: str | None = None) -> SafeString:
    """A coloured pill for a status; the label is escaped."""
    return format_html(
        '<span class="status-badge status-{}">{}</span>', tone or TONES.get(value, "neutral"), label
    )


def http_status_badge(status: int | None) -> SafeString:
    """An HTTP response status, coloured by class: 2xx, 3xx, 4xx, 5xx, or no response at all."""
    if status is None:
        return badge("", "no response", "failure")
    tone = {2: "success", 3: "neutral", 4: "warning"}.get(status // 100, "failure")
    return badge(str(status), str(status), tone)


def admin_link(obj: Model | None) -> SafeString | str:
    """A link to the object's admin page (by its URL name: no import of its app), or a dash."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


def external_link(url: str, label: str = "") -> SafeString | str:
    """A link that opens Discord or GitHub in a new tab, or a dash when there is none."""
    if not url:
        return "-"
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label or url)


def admin_changelist_url(model: type[Model], **params: Any) -> str:
    """The model's admin list, filtered by ``params`` (``?course=<id>``)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


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


def milliseconds(value: int | None) -> str:
    """An HTTP call's duration as measured (``84 ms``); a dash when unknown."""
    return "-" if value is None else f"{value} ms"


def when(value: datetime | None, *, with_seconds: bool = False) -> str:
    """A compact local time for dense tables (``2026-09-01 14:05``); a dash when unknown."""
    if value is None:
        return "-"
    return date_format(localtime(value), "Y-m-d H:i:s" if with_seconds else "Y-m-d H:i")


# --- columns ------------------------------------------------------------------------------------
def column(
    render: Callable[[Any], Any], *, description: str, ordering: str | None = None
) -> Callable[[Any, Any], Any]:
    """A display method (for ``list_display`` and ``fields``) showing ``render(obj)``."""

    def method(model_admin: Any, obj: Any) -> Any:
        return render(obj)

    return admin.display(description=description, ordering=ordering)(method)


def _value(source: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An attribute name, or a function of the object, as a function of the object."""
    return source if callable(source) else (lambda obj: getattr(obj, source))


def badge_column(
    field: str, *, description: str | None = None, ordering: str | None = None
) -> Callable[[Any, Any], Any]:
    """A choice field (status, state, outcome) as a badge with its label; sorted by the field."""
    return column(
        lambda obj: badge(getattr(obj, field), getattr(obj, f"get_{field}_display")()),
        description=description or field,
        ordering=ordering or field,
    )


def course_column(
    *, description: str = "course", ordering: str = "course__name"
) -> Callable[[Any, Any], Any]:
    """The row's course, linked to its admin page."""
    return column(lambda obj: admin_link(obj.course), description=description, ordering=ordering)


def duration_column(
    source: str | Callable[[Any], float | None],
    *,
    description: str = "duration",
    ordering: str | None = None,
) -> Callable[[Any, Any], Any]:
    """A duration in seconds (an attribute name, or a function of the row), for people."""
    value = _value(source)
    return column(lambda obj: seconds(value(obj)), description=description, ordering=ordering)


def milliseconds_column(field: str, *, description: str = "duration") -> Callable[[Any, Any], Any]:
    """A duration measured in milliseconds, sorted by it."""
    return column(
        lambda obj: milliseconds(getattr(obj, field)), description=description, ordering=field
    )


def time_column(
    field: str, *, description: str, with_seconds: bool = False
) -> Callable[[Any, Any], Any]:
    """A compact local time, sorted by it."""
    return column(
        lambda obj: when(getattr(obj, field), with_seconds=with_seconds),
        description=description,
        ordering=field,
    )


# --- read-only ----------------------------------------------------------------------------------
class ReadOnlyFieldsMixin:
    """Every field shown is read-only but those named in ``editable_fields``.

    Derived from the fields (or fieldsets) shown, so a class lists each field once, its display
    methods included. The class must declare ``fields`` or ``fieldsets`` (or compute them):
    Django's default would build the form to find them, which asks for the read-only fields.
    """

    editable_fields: Sequence[str] = ()

    def get_editable_fields(self, request: HttpRequest, obj: Any = None) -> Sequence[str]:
        return self.editable_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        model_admin: Any = self
        cls = type(self)
        declared = model_admin.fields or model_admin.fieldsets
        computed = (
            cls.get_fields is not BaseModelAdmin.get_fields  # type: ignore[attr-defined]
            or cls.get_fieldsets is not BaseModelAdmin.get_fieldsets  # type: ignore[attr-defined]
        )
        if not (declared or computed):
            raise ImproperlyConfigured(
                f"{cls.__name__} derives its read-only fields from the fields it shows: "
                "declare fields or fieldsets."
            )
        shown = flatten_fieldsets(model_admin.get_fieldsets(request, obj))
        editable = set(self.get_editable_fields(request, obj))
        return tuple(name for name in shown if name not in editable)


class ReadOnlyMixin(ReadOnlyFieldsMixin):
    """Rows only the system writes: never added, changed or deleted by anyone, superusers
    included, and every field shown read-only. For model admins and inlines alike."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Rows only the system writes (audit, steps, runs): viewable with the view permission."""

    actions = None


# --- filters ------------------------------------------------------------------------------------
class CourseFilter(admin.SimpleListFilter):
    """Filter rows by their course, for any model with a ``course`` foreign key.

    The course model is the foreign key's target (no import of ``courses``). The stock
    related-field filters list every course (thousands of links) or scan the filtered table for
    the distinct courses in it (200,000 audit rows on every page view). This one offers the most
    recent courses, plus the selected one; any course is reachable as ``?course=<id>``, which is
    what the course page links to.
    """

    title = "course"
    parameter_name = "course"
    field_name = "course"
    ordering = ("-created_at",)  # the most recent first
    recent = 10

    def _target(self, model: type[Model]) -> type[Model]:
        return model._meta.get_field(self.field_name).related_model  # type: ignore[return-value]

    def _selected(self, target: type[Model]) -> Any:
        """The selected course's primary key; None when none or not a valid key."""
        try:
            return target._meta.pk.to_python(self.value()) if self.value() else None
        except ValidationError:
            return None

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        target = self._target(model_admin.model)
        manager = target._default_manager
        recent = manager.order_by(*self.ordering).values("pk")[: self.recent]
        wanted = Q(pk__in=Subquery(recent))
        selected = self._selected(target)
        if selected is not None:
            wanted |= Q(pk=selected)
        rows = manager.filter(wanted).order_by(*self.ordering)  # one query
        return [(str(row.pk), str(row)) for row in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        selected = self._selected(self._target(queryset.model))
        if selected is None:  # the change list's usual "invalid filter" redirect (?e=1)
            raise IncorrectLookupParameters(f"{self.value()!r} is not a {self.title} id")
        return queryset.filter(**{f"{self.field_name}_id": selected})
