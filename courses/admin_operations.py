"""The course page's operation buttons (archive, unarchive, verify, repair, tear down), the list's
archive and verify actions, and the course's latest drift report.

Each button opens a confirmation page that lists what the operation will change (its plan
service: ``archive_plan``, ``teardown_plan``, ``repair_plan``; a verify reads only), and that
page's POST starts it through its service, the one the API and ``manage.py course`` call. Thin
like the rest of the admin: the services decide what may start. A refusal (another operation
running, a course in the wrong state: ``CourseBusyError`` and its subclasses) becomes an error
message on the course's page, never a 500. A tear down cannot be undone, so its page also asks
for the course's name.

A ``ModelAdmin`` base of ``CourseAdmin`` rather than code in ``courses.admin``: that module's
``get_urls`` and ``render_change_form`` call ``super()``, which reaches these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common.admin_blocks import badge, when
from config.celery import CELERY, execution_mode
from courses.models import Course
from provisioning.archive import archive_failed, archive_plan, course_archive, course_unarchive
from provisioning.drift import CHECKED_KINDS
from provisioning.models import DriftReport, ExternalResource, Operation
from provisioning.repair import course_repair, repair_plan
from provisioning.services import CourseBusyError
from provisioning.teardown import course_teardown, teardown_plan
from provisioning.verify import course_verify, drift_report_latest

# The drift report's states as badges (common.admin_blocks.TONES knows statuses, not these).
DRIFT_TONES = {"ok": "success", "missing": "failure", "changed": "warning"}


@dataclass(frozen=True)
class Plan:
    """What an operation will change, as its confirmation page lists it."""

    changes: list[str]
    github_writes: int | None = None
    discord_writes: int | None = None
    checked_at: str | None = None  # repair: the verify its changes come from
    reads_only: bool = False


@dataclass(frozen=True)
class CourseAction:
    """One button of the course page: its confirmation page, its plan and its service."""

    slug: str  # in its URL and URL name
    label: str
    question: str  # the confirmation page's title; {} is the course
    submit: str
    plan: Callable[[Course], Plan]
    start: Callable[..., Operation]
    # Whether the button is offered, from the course and its latest drift report. The service
    # still decides: a page opened from an old tab is refused with the service's reason.
    shown: Callable[[Course, DriftReport | None], bool]
    confirm_name: bool = False  # a tear down: type the course's name
    # The model permission it takes besides changing the course: the one the API asks a staff
    # session for the same operation (courses.api.views), so the admin never lets more.
    permission: str = "courses.change_course"
    danger: bool = False
    notes: tuple[str, ...] = field(default=())


def _archive_plan(course: Course) -> Plan:
    plan = archive_plan(course=course)
    return Plan(plan["changes"], plan["githubWrites"], plan["discordWrites"])


def _teardown_plan(course: Course) -> Plan:
    plan = teardown_plan(course=course)
    return Plan(plan["changes"], plan["githubWrites"], plan["discordWrites"])


def _repair_plan(course: Course) -> Plan:
    plan = repair_plan(course=course)
    checked = parse_datetime(plan["checkedAt"]) if plan["checkedAt"] else None
    return Plan(plan["changes"], checked_at=when(checked, with_seconds=True) if checked else None)


def _unarchive_plan(course: Course) -> Plan:
    # No plan service: an unarchive puts back what the archive recorded, whatever it was.
    return Plan(
        [
            "Its GitHub repositories are unarchived (writable again).",
            "Its Discord server gets the course's name back.",
            "Each of its Discord channels gets back the permissions it had before the archive.",
        ]
    )


def _verify_plan(course: Course) -> Plan:
    checked = ExternalResource.objects.filter(
        course=course, state=ExternalResource.State.CONFIRMED, kind__in=CHECKED_KINDS
    ).count()
    return Plan(
        [
            f"Reads only: its {checked} confirmed resources (server, roles, channels, "
            "repositories, branch protections) are read on Discord and GitHub and compared with "
            "what was made. Nothing is written; the report shows on the course's page."
        ],
        reads_only=True,
    )


def _live(course: Course) -> bool:
    """Not torn down, and no operation under way (the buttons would only be refused)."""
    return course.deleted_at is None and course.status not in Course.ACTIVE


def _completed(course: Course) -> bool:
    return _live(course) and course.status == Course.Status.COMPLETED


ACTIONS: dict[str, CourseAction] = {
    action.slug: action
    for action in (
        CourseAction(
            slug="verify",
            label="Verify",
            question="Verify “{}”?",
            submit="Yes, verify it",
            plan=_verify_plan,
            start=course_verify,
            shown=lambda course, _report: _completed(course),
        ),
        CourseAction(
            slug="repair",
            label="Repair",
            question="Repair “{}”?",
            submit="Yes, repair it",
            plan=_repair_plan,
            start=course_repair,
            # An archived course's repositories refuse writes: unarchive first.
            shown=lambda course, report: (
                _completed(course)
                and course.archived_at is None
                and report is not None
                and report.drifted
            ),
        ),
        CourseAction(
            slug="archive",
            label="Archive",
            question="Archive “{}”?",
            submit="Yes, archive it",
            plan=_archive_plan,
            start=course_archive,
            shown=lambda course, _report: _completed(course) and course.archived_at is None,
            notes=("Unarchive undoes it.",),
        ),
        CourseAction(
            slug="unarchive",
            label="Unarchive",
            question="Unarchive “{}”?",
            submit="Yes, unarchive it",
            plan=_unarchive_plan,
            start=course_unarchive,
            # Or an archive that failed part way: the unarchive puts back what it changed.
            shown=lambda course, _report: (
                (_completed(course) and course.archived_at is not None)
                or (_live(course) and archive_failed(course=course) is not None)
            ),
        ),
        CourseAction(
            slug="teardown",
            label="Tear down",
            question="Tear down “{}”?",
            submit="Yes, tear it down",
            plan=_teardown_plan,
            start=course_teardown,
            shown=lambda course, _report: _live(course) and course.status in Course.TERMINAL,
            confirm_name=True,
            permission="courses.delete_course",
            danger=True,
            notes=(
                "This cannot be undone: what is deleted on Discord and GitHub is gone. The "
                "course's row stays as the record of what was made and removed.",
            ),
        ),
    )
}


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _kind(operation: Operation) -> str:
    return operation.get_kind_display()


def drift_rows(report: DriftReport) -> list[dict[str, Any]]:
    """The report's resources for the page, those that drifted first; each difference as
    ``field: expected → actual``."""
    rows = []
    for item in report.resources:
        differences = item.get("differences") or {}
        rows.append(
            {
                "provider": item.get("provider", ""),
                "kind": item.get("kind", ""),
                "key": item.get("key", ""),
                "ok": item.get("state") == "ok",
                "state": badge(
                    item.get("state", ""),
                    item.get("state", ""),
                    DRIFT_TONES.get(item.get("state", "")),
                ),
                "differences": _differences(differences)
                or ("gone from the platform" if item.get("state") == "missing" else "-"),
            }
        )
    return sorted(rows, key=lambda row: row["ok"])  # stable: the report's order otherwise


def _differences(differences: dict[str, Any]) -> SafeString | str:
    items = format_html_join(
        "",
        "<li><code>{}</code>: {} → {}</li>",
        (
            (name, _shown(value.get("expected")), _shown(value.get("actual")))
            for name, value in sorted(differences.items())
            if isinstance(value, dict)
        ),
    )
    return format_html('<ul class="drift-differences">{}</ul>', items) if items else ""


def _shown(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= 200 else text[:200] + "…"


class CourseOperationsAdmin(admin.ModelAdmin):
    """Buttons, confirmation pages, list actions and the drift panel of ``CourseAdmin``."""

    operation_confirmation_template = "admin/courses/course/operation_confirmation.html"
    operation_selected_template = "admin/courses/course/operation_selected_confirmation.html"

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                f"<path:object_id>/{slug}/",
                self.admin_site.admin_view(self.operation_view),
                {"slug": slug},
                name=f"courses_course_{slug}",
            )
            for slug in ACTIONS
        ]
        return [*own, *super().get_urls()]  # before the catch-all "<path:object_id>/"

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Course | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._operations_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_context(self, request: HttpRequest, course: Course) -> dict[str, Any]:
        report = drift_report_latest(course=course)
        may_act = self.has_change_permission(request, course)
        buttons = [
            {
                "label": action.label,
                "url": reverse(f"admin:courses_course_{action.slug}", args=[quote(course.pk)]),
                "danger": action.danger,
                "slug": action.slug,
            }
            for action in ACTIONS.values()
            if may_act and request.user.has_perm(action.permission) and action.shown(course, report)
        ]
        return {
            "operation_buttons": buttons,
            "drift_report": report,
            "drift_rows": drift_rows(report) if report is not None else [],
            "archived_at": when(course.archived_at) if course.archived_at else "",
            "deleted_at": when(course.deleted_at) if course.deleted_at else "",
        }

    # --- one course ---------------------------------------------------------------------------
    def operation_view(self, request: HttpRequest, object_id: str, slug: str) -> HttpResponse:
        """GET: the confirmation page with the plan. POST: start the operation, then back to
        the course's page with what happened."""
        action = ACTIONS[slug]
        course = self.get_object(request, unquote(object_id))
        if course is None:
            # Django's own "no such object" answer; private, so absent from the stubs.
            redirect = self._get_obj_does_not_exist_redirect  # type: ignore[attr-defined]
            return redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, course) or not request.user.has_perm(
            action.permission
        ):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:courses_course_change", args=[quote(course.pk)]))
        name_error = ""
        if request.method == "POST":
            typed = request.POST.get("confirm_name", "").strip()
            if not action.confirm_name or typed == course.name:
                self._operation_start(request, action, course)
                return back
            name_error = f"“{typed}” is not the course's name: nothing was done."
        try:
            plan = action.plan(course)
        except CourseBusyError as exc:
            self.message_user(request, f"{action.label}: {exc}", messages.ERROR)
            return back
        context = {
            **self.admin_site.each_context(request),
            "title": action.question.format(course),
            "subtitle": None,
            "opts": self.opts,
            "object": course,
            "course_action": action,
            "plan": plan,
            "name_error": name_error,
            "back_url": back.url,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.operation_confirmation_template, context)

    def _operation_start(self, request: HttpRequest, action: CourseAction, course: Course) -> None:
        try:
            operation = action.start(course=course, requested_by_user=_user(request))
        except CourseBusyError as exc:
            self.message_user(request, f"{action.label} not started: {exc}", messages.ERROR)
            return
        except ValidationError as exc:
            text = "; ".join(exc.messages)
            self.message_user(request, f"{action.label} not started: {text}", messages.ERROR)
            return
        self._say_where_operation_is(request, course, operation)

    def _say_where_operation_is(
        self, request: HttpRequest, course: Course, operation: Operation
    ) -> None:
        """Its outcome when it has run already (in-process, outside a transaction), else where
        it runs."""
        operation.refresh_from_db()
        if operation.status == Operation.Status.COMPLETED:
            text, level = "{} of “{}” completed.", messages.SUCCESS
        elif operation.status == Operation.Status.FAILED:
            failed = operation.steps.filter(status="FAILED").first()
            detail = f" at {failed.name}: {failed.last_error}" if failed else ""
            self.message_user(
                request, f"{_kind(operation)} of “{course}” failed{detail}", messages.ERROR
            )
            return
        elif execution_mode() == CELERY:
            text = "{} of “{}” is queued for a worker; this page follows its steps."
            level = messages.SUCCESS
        else:
            text = "{} of “{}” has started; this page follows its steps."
            level = messages.SUCCESS
        self.message_user(request, format_html(text, _kind(operation), course), level)

    # --- many courses -------------------------------------------------------------------------
    @admin.action(description="Archive selected courses", permissions=["change"])
    def archive_selected(
        self, request: HttpRequest, queryset: QuerySet[Course]
    ) -> HttpResponse | None:
        return self._operation_selected(request, queryset, ACTIONS["archive"], "archive_selected")

    @admin.action(description="Verify selected courses (reads only)", permissions=["change"])
    def verify_selected(
        self, request: HttpRequest, queryset: QuerySet[Course]
    ) -> HttpResponse | None:
        return self._operation_selected(request, queryset, ACTIONS["verify"], "verify_selected")

    def _operation_selected(
        self, request: HttpRequest, queryset: QuerySet[Course], action: CourseAction, name: str
    ) -> HttpResponse | None:
        """Like Django's delete_selected: a confirmation page listing each course's plan, whose
        POST (``post=yes``) comes back here and starts the operations."""
        courses = list(queryset.order_by("name", "semester"))
        if request.POST.get("post") == "yes":
            self._start_many(request, courses, action)
            return None  # back to the list
        rows: list[dict[str, Any]] = []
        plans: list[Plan] = []
        for course in courses:
            try:
                plan = action.plan(course)
            except CourseBusyError as exc:
                rows.append({"course": course, "plan": None, "refusal": str(exc)})
            else:
                rows.append({"course": course, "plan": plan, "refusal": ""})
                plans.append(plan)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.label} {len(courses)} course{'s' if len(courses) != 1 else ''}?",
            "subtitle": None,
            "opts": self.opts,
            "course_action": action,
            "action_name": name,
            "rows": rows,
            "github_writes": sum(p.github_writes or 0 for p in plans),
            "discord_writes": sum(p.discord_writes or 0 for p in plans),
            "counted": any(p.github_writes is not None for p in plans),
            "queryset": courses,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.operation_selected_template, context)

    def _start_many(
        self, request: HttpRequest, courses: list[Course], action: CourseAction
    ) -> None:
        started: list[str] = []
        for course in courses:
            try:
                action.start(course=course, requested_by_user=_user(request))
            except (CourseBusyError, ValidationError) as exc:
                reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(
                    request, f"{action.label} of “{course}” not started: {reason}", messages.ERROR
                )
            else:
                started.append(str(course))
        if started:
            self.message_user(
                request,
                f"{action.label} started for {len(started)} course"
                f"{'s' if len(started) != 1 else ''}: {', '.join(sorted(started))}.",
                messages.SUCCESS,
            )
