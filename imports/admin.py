"""Imports in the admin: upload a file, read its plan, apply it; then each import's rows.

Thin: ``imports.services`` plans and applies. The plan page writes nothing: it carries the file
back in a hidden field, and Apply plans it again before creating anything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join

from common.admin_blocks import (
    ReadOnlyAdmin,
    ReadOnlyMixin,
    admin_link,
    badge,
    badge_column,
    column,
    time_column,
    when,
)
from imports.admin_forms import ImportApplyForm, ImportUploadForm
from imports.models import Import, ImportRow
from imports.parsing import ImportFileError, import_format_guess
from imports.selectors import import_counts
from imports.services import import_apply, import_plan, import_refresh


def _errors(row: ImportRow) -> Any:
    return format_html_join(
        "", "<div>{}: {}</div>", ((e["field"], e["reason"]) for e in row.errors)
    )


def _course_status(row: ImportRow) -> Any:
    if row.course is None:
        return "—"
    return badge(row.course.status, row.course.get_status_display())


class ImportRowInline(ReadOnlyMixin, admin.TabularInline):
    model = ImportRow
    extra = 0
    can_delete = False
    fields = (
        "line",
        "name",
        "semester",
        "type",
        "outcome_badge",
        "errors_list",
        "course_link",
        "course_status",
    )
    outcome_badge = badge_column("outcome", description="outcome")
    errors_list = column(_errors, description="errors")
    course_link = column(
        lambda row: admin_link(row.course) if row.course else "—", description="course"
    )
    course_status = column(_course_status, description="course status")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("course")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The rows are part of the import: whoever may see it sees them.
        return request.user.has_perm("imports.view_import")


def _counts(record: Import) -> str:
    counts = import_counts(record=record)
    courses = counts["courses"]
    return (
        f"{counts['created']} created ({courses['completed']} completed, {courses['failed']} "
        f"failed), {counts['invalid']} invalid, {counts['notCreated']} not created"
    )


@admin.register(Import)
class ImportAdmin(ReadOnlyAdmin):
    list_display = ("short_id", "status_badge", "priority", "summary", "created", "finished")
    list_filter = ("status", "priority")
    fields = (
        ("id", "status_badge"),
        ("priority", "all_or_nothing", "format", "filename"),
        "summary",
        "estimate",
        ("created_at", "finished_at"),
        "interrupted",
    )
    inlines = [ImportRowInline]
    status_badge = badge_column("status", description="status")
    short_id = column(lambda record: str(record.id)[:8], description="import", ordering="id")
    summary = column(_counts, description="rows")
    estimate = column(
        lambda record: (
            f"{record.plan.get('estimate', '')}; pool servers "
            f"{record.plan.get('serversNeeded', 0)} needed, "
            f"{record.plan.get('serversAvailable', 0)} available"
        ),
        description="plan",
    )
    interrupted = column(
        lambda record: (
            f"Interrupted ({when(record.interrupted_at)}): the process creating its "
            "courses stopped; the rows not listed below were not created — import the file "
            "again to create them (the courses created are reported as existing)."
            if record.interrupted_at
            else "-"
        ),
        description="interrupted",
    )
    created = time_column("created_at", description="created")
    finished = time_column("finished_at", description="finished")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("imports.add_import") and request.user.has_perm(
            "courses.add_course"
        )

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload/", self.admin_site.admin_view(self.upload_view), name="imports_import_upload"
        )
        return [upload, *super().get_urls()]

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:imports_import_upload"))

    def change_view(
        self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        import_refresh(import_id=object_id)  # the page shows its courses as they are now
        return super().change_view(request, object_id, *args, **kwargs)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the form; POST the form: the plan page; POST the plan's Apply: the import."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "_apply" in request.POST:
            return self._apply(request)
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        context: dict[str, Any] = {**self.admin_site.each_context(request), "opts": self.opts}
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            format = import_format_guess(content=data["content"], filename=data["filename"])
            try:
                plan = import_plan(
                    content=data["content"], format=format, priority=data["priority"]
                )
            except (ImportFileError, ValidationError) as exc:
                form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
            else:
                apply_form = ImportApplyForm(
                    initial={
                        "content": data["content"],
                        "filename": data["filename"],
                        "priority": data["priority"],
                        "all_or_nothing": data["all_or_nothing"],
                    }
                )
                blocked = bool(plan.errors) and data["all_or_nothing"]
                context.update(
                    title="Import plan",
                    plan=plan.as_dict(),
                    apply_form=apply_form,
                    blocked=blocked or not plan.valid_rows,
                    all_or_nothing=data["all_or_nothing"],
                )
                return TemplateResponse(request, "admin/imports/import/plan.html", context)
        context.update(title="Import courses", form=form)
        return TemplateResponse(request, "admin/imports/import/upload.html", context)

    def _apply(self, request: HttpRequest) -> HttpResponse:
        form = ImportApplyForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The plan's form was incomplete: upload the file again.")
            return HttpResponseRedirect(reverse("admin:imports_import_upload"))
        data = form.cleaned_data
        format = import_format_guess(content=data["content"], filename=data["filename"])
        try:
            record = import_apply(
                content=data["content"],
                format=format,
                filename=data["filename"],
                priority=data["priority"],
                all_or_nothing=data["all_or_nothing"],
                created_by_user=request.user if isinstance(request.user, User) else None,
            )
        except (ImportFileError, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
            return HttpResponseRedirect(reverse("admin:imports_import_upload"))
        level = messages.ERROR if record.status == Import.Status.REJECTED else messages.SUCCESS
        messages.add_message(request, level, f"Import {record.id}: {_counts(record)}.")
        return HttpResponseRedirect(reverse("admin:imports_import_change", args=[record.id]))
