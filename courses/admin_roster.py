"""The course's roster in the admin: a read-only inline on the course page, and a Roster page
with the link sheet, the CSV upload (preview, then Apply), the export and the Sync button.

Thin: ``courses.roster`` plans, imports, removes and syncs, as for the API and ``manage.py
roster``. The preview writes nothing: it carries the file back in a hidden field, and Apply
plans it again against the roster as it is then. A refusal (a bad line, the course busy) is a
message, never a 500. Looking needs the course's view permission; changing the roster or
syncing it, its change permission (as retrying does).

A ``ModelAdmin`` base of ``CourseAdmin`` (like ``courses.admin_operations``): its ``get_urls``
and ``get_inline_instances`` are reached through ``super()``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from common.admin_blocks import ReadOnlyMixin, badge, when
from courses.models import Course, CourseMember
from courses.roster import (
    ROSTER_ORDER,
    RosterInvalidError,
    link_sheet,
    link_sheet_csv,
    member_remove,
    roster_export,
    roster_import,
    roster_plan,
    roster_sync,
    roster_unsynced,
)
from courses.roster_files import (
    RosterFileError,
    roster_file_read,
    roster_format_guess,
    roster_parse,
)
from provisioning.models import Operation
from provisioning.services import CourseBusyError

# Each GitHub state as a badge tone (common.admin_blocks styles them).
GITHUB_STATE_TONES: dict[str, str] = {
    CourseMember.GitHubState.NOT_SYNCED: "neutral",
    CourseMember.GitHubState.WAITING: "warning",
    CourseMember.GitHubState.PENDING: "running",
    CourseMember.GitHubState.ACTIVE: "success",
    CourseMember.GitHubState.REMOVED: "neutral",
    CourseMember.GitHubState.FAILED: "failure",
}


def github_state_badge(member: CourseMember) -> SafeString:
    return badge(
        member.github_state,
        member.get_github_state_display(),
        GITHUB_STATE_TONES.get(member.github_state),
    )


class CourseMemberInline(ReadOnlyMixin, admin.TabularInline):
    """The live roster on the course page, with each member's state; edited on the Roster page."""

    model = CourseMember
    template = "admin/courses/course/roster_inline.html"
    verbose_name_plural = "Roster (members and their GitHub state)"
    fields = ("name", "email", "github_username", "role", "lab_group", "state", "waiting")
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    classes = ("course-part",)

    @admin.display(description="GitHub")
    def state(self, member: CourseMember) -> SafeString:
        return github_state_badge(member)

    @admin.display(description="waiting until")
    def waiting(self, member: CourseMember) -> str:
        return when(member.waiting_until) if member.waiting_until else ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[CourseMember]:
        return (
            super()
            .get_queryset(request)
            .filter(removed_at__isnull=True)
            .select_related("lab_group")
            .order_by(*ROSTER_ORDER)
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Part of the course: whoever may see the course sees who is in it.
        return self.admin_site.get_model_admin(Course).has_view_permission(request, obj)


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        required=False,
        help_text="CSV (UTF-8) with the header name,email,github,role,group, or the same as a "
        "JSON list.",
    )
    content = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90}),
        label="or paste it",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        upload = cleaned.get("file")
        cleaned["filename"] = upload.name if upload is not None else ""
        try:
            raw: bytes | str = (
                roster_file_read(upload) if upload is not None else cleaned.get("content") or ""
            )
        except RosterFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not raw.strip():
            raise forms.ValidationError("Choose a file, or paste its content.")
        try:
            cleaned["format"] = roster_format_guess(content=raw, filename=cleaned["filename"])
            cleaned["rows"] = roster_parse(content=raw, format=cleaned["format"])
        except RosterFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        # The text the preview sends back to Apply (already read as UTF-8, BOM dropped).
        cleaned["text"] = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        return cleaned


class RosterApplyForm(forms.Form):
    """The preview's form: the file as previewed, sent back to import it."""

    content = forms.CharField(widget=forms.HiddenInput, strip=False)
    format = forms.ChoiceField(choices=[("csv", "csv"), ("json", "json")], widget=forms.HiddenInput)


class CourseRosterAdmin(admin.ModelAdmin):
    """The roster's inline, page and buttons, for ``CourseAdmin``."""

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        inlines = super().get_inline_instances(request, obj)
        if obj is None:
            return inlines
        roster = CourseMemberInline(self.model, self.admin_site)
        if roster.has_view_permission(request, obj):
            inlines.append(roster)
        return inlines

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(function)

        own = [
            path(
                "<path:object_id>/roster/",
                view(self.roster_view),
                name="courses_course_roster",
            ),
            path(
                "<path:object_id>/roster/links.csv",
                view(self.roster_links_view),
                name="courses_course_roster_links",
            ),
            path(
                "<path:object_id>/roster/export.csv",
                view(self.roster_export_view),
                name="courses_course_roster_export",
            ),
            path(
                "<path:object_id>/roster/sync/",
                view(self.roster_sync_view),
                name="courses_course_roster_sync",
            ),
            path(
                "<path:object_id>/roster/<uuid:member_id>/remove/",
                view(self.roster_remove_view),
                name="courses_course_roster_remove",
            ),
        ]
        return [*own, *super().get_urls()]  # before the catch-all "<path:object_id>/"

    # --- views -------------------------------------------------------------------------------
    def roster_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the roster and its link sheet; POST a file: its preview; POST Apply: import."""
        course = self._course(request, object_id)
        if isinstance(course, HttpResponse):
            return course
        may_change = self.has_change_permission(request, course)
        if request.method == "POST":
            if not may_change:
                raise PermissionDenied
            if "_apply" in request.POST:
                return self._apply(request, course)
            form = RosterUploadForm(request.POST, request.FILES)
            if form.is_valid():
                return self._preview(request, course, form.cleaned_data)
        else:
            form = RosterUploadForm()
        return TemplateResponse(
            request,
            "admin/courses/course/roster.html",
            {
                **self._page(request, course, "Roster"),
                "form": form if may_change else None,
                "may_change": may_change,
                "rows": link_sheet(course=course),
                "unsynced": roster_unsynced(course=course),
                "last_sync": course.operations.filter(kind=Operation.Kind.SYNC_MEMBERS)
                .order_by("-created_at", "-id")
                .first(),
            },
        )

    def roster_links_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        course = self._course(request, object_id)
        if isinstance(course, HttpResponse):
            return course
        return _csv(link_sheet_csv(course=course), f"links-{course.id}.csv")

    def roster_export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        course = self._course(request, object_id)
        if isinstance(course, HttpResponse):
            return course
        return _csv(roster_export(course=course), f"roster-{course.id}.csv")

    @staticmethod
    def _user(request: HttpRequest) -> User | None:
        return request.user if isinstance(request.user, User) else None

    def roster_sync_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._sync)(request, object_id)

    def _sync(self, request: HttpRequest, object_id: str) -> HttpResponse:
        course = self._course(request, object_id, change=True)
        if isinstance(course, HttpResponse):
            return course
        try:
            roster_sync(course=course, requested_by_user=self._user(request))
        except CourseBusyError as exc:
            messages.error(request, f"The roster's sync did not start: {exc}")
        else:
            messages.success(
                request, "The roster's sync started: the course page follows its steps."
            )
        return HttpResponseRedirect(_roster_url(course))

    def roster_remove_view(
        self, request: HttpRequest, object_id: str, member_id: Any
    ) -> HttpResponse:
        return require_POST(self._remove)(request, object_id, member_id)

    def _remove(self, request: HttpRequest, object_id: str, member_id: Any) -> HttpResponse:
        course = self._course(request, object_id, change=True)
        if isinstance(course, HttpResponse):
            return course
        member = CourseMember.objects.filter(course=course, id=member_id).first()
        if member is None:
            messages.error(request, "No such member in this course.")
            return HttpResponseRedirect(_roster_url(course))
        try:
            sync = member_remove(member=member, requested_by_user=self._user(request))
        except CourseBusyError as exc:
            messages.error(request, str(exc))
        else:
            text = f"{member.name} was taken off the roster. " + _sync_message(sync.as_dict())
            messages.add_message(
                request, messages.WARNING if sync.pending else messages.SUCCESS, text
            )
        return HttpResponseRedirect(_roster_url(course))

    # --- steps of the upload -----------------------------------------------------------------
    def _preview(self, request: HttpRequest, course: Course, data: dict[str, Any]) -> HttpResponse:
        plan = roster_plan(course=course, rows=data["rows"])
        return TemplateResponse(
            request,
            "admin/courses/course/roster_preview.html",
            {
                **self._page(request, course, "Roster preview"),
                "plan": plan.as_dict(),
                "changes": [c for c in plan.changes if c.action != "unchanged"],
                "filename": data["filename"],
                "apply_form": None
                if plan.errors
                else RosterApplyForm(initial={"content": data["text"], "format": data["format"]}),
            },
        )

    def _apply(self, request: HttpRequest, course: Course) -> HttpResponse:
        form = RosterApplyForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The preview's form was incomplete: upload the file again.")
            return HttpResponseRedirect(_roster_url(course))
        data = form.cleaned_data
        try:
            rows = roster_parse(content=data["content"], format=data["format"])
            result = roster_import(course=course, rows=rows, requested_by_user=self._user(request))
        except RosterFileError as exc:
            messages.error(request, f"Nothing imported: {exc}")
        except RosterInvalidError as exc:
            lines = "; ".join(
                f"line {e['line']}: {e['field']}: {e['reason']}" for e in exc.plan.errors[:20]
            )
            messages.error(request, f"{exc} {lines}")
        except CourseBusyError as exc:
            messages.error(request, f"Nothing imported: {exc}")
        else:
            body = result.as_dict()
            counts = body["counts"]
            text = (
                f"Roster imported: {counts['added']} added, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged. " + _sync_message(body["sync"])
            )
            level = messages.WARNING if result.sync.pending else messages.SUCCESS
            messages.add_message(request, level, text)
        return HttpResponseRedirect(_roster_url(course))

    # --- helpers -----------------------------------------------------------------------------
    def _course(
        self, request: HttpRequest, object_id: str, *, change: bool = False
    ) -> Course | HttpResponse:
        course = self.get_object(request, unquote(object_id))
        if course is None:
            # Django's own "no such object" answer; private, so absent from the stubs.
            redirect = self._get_obj_does_not_exist_redirect  # type: ignore[attr-defined]
            response: HttpResponse = redirect(request, self.opts, object_id)
            return response
        allowed = (
            self.has_change_permission(request, course)
            if change
            else self.has_view_permission(request, course)
        )
        if not allowed:
            raise PermissionDenied
        return course

    def _page(self, request: HttpRequest, course: Course, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{title}: {course}",
            "course": course,
            "course_url": reverse("admin:courses_course_change", args=[quote(course.pk)]),
            "roster_url": _roster_url(course),
        }


def _roster_url(course: Course) -> str:
    return reverse("admin:courses_course_roster", args=[quote(course.pk)])


def _csv(text: str, filename: str) -> HttpResponse:
    """A download for staff, who open it in a spreadsheet: with a byte order mark, without which
    Excel reads UTF-8 as the Windows code page and garbles every accented name. (The API's CSV
    has none: programs read it; the roster's import reads either.)"""
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _sync_message(sync: dict[str, Any]) -> str:
    if sync["started"]:
        return "Its sync to Discord and GitHub started: the course page follows its steps."
    return sync["reason"]
