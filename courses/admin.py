"""The staff console for courses: create them, watch their provisioning, retry what failed.

Thin by design (HackSoft styleguide): creating goes through ``courses.services.course_create``
and retrying through ``provisioning.services.provisioning_retry``, the same functions as the API
and the command line. What the admin adds is presentation.

An existing course is read-only here: its name, semester, type and groups were turned into
Discord and GitHub resources, and editing the row would not touch those (nor re-provision).
Nor can a course be deleted: its rows are the only record of what exists on the platforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from api.exceptions import LimitExceeded
from audit.models import AuditLog
from common.admin_blocks import (
    ReadOnlyFieldsMixin,
    ReadOnlyMixin,
    admin_changelist_url,
    badge_column,
    http_status_badge,
    milliseconds,
    time_column,
)
from config.celery import CELERY, INLINE, execution_mode
from courses.admin_filters import DeletedFilter
from courses.admin_forms import COURSE_FIELDS, CourseAddForm, LabGroupFormSet, lab_group_inputs
from courses.admin_operations import CourseOperationsAdmin
from courses.admin_roster import CourseRosterAdmin
from courses.api.caps import active_courses_cap, course_owner
from courses.changes import course_rebind, course_rebindable
from courses.models import Course, LabGroup
from courses.services import CourseConflictError, course_create
from provisioning.admin_blocks import (
    OPERATION_PREFETCH,
    OperationColumns,
    ResourceColumns,
    StepColumns,
)
from provisioning.models import ExternalResource, JobExecution, Operation, ProvisioningStep
from provisioning.selectors import failed_step
from provisioning.services import CourseBusyError, NothingToRetryError, provisioning_retry

# One admin site for the whole project; its titles are set here, next to the main model.
admin.site.site_header = "Course provisioning"
admin.site.site_title = "Course provisioning"
admin.site.index_title = "Staff console"
admin.site.site_url = None  # no "View site" link: the site is this admin and a JSON API

# How often a course page reloads itself while its provisioning runs.
AUTO_REFRESH_SECONDS = 3
RECENT_AUDIT_ENTRIES = 10


def _step_count(**filters: Any) -> Coalesce:
    """Steps of the outer course (matching ``filters``), counted in a correlated subquery.

    A subquery rather than ``Count`` over a join: the list's page query computes it for the rows
    of the page only, and the change list's ``COUNT(*)`` leaves it out entirely.
    """
    steps = (
        ProvisioningStep.objects.filter(course=OuterRef("pk"), **filters)
        .order_by()
        .values("course")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(steps, output_field=IntegerField()), Value(0))


class CoursePartInline(ReadOnlyMixin, admin.TabularInline):
    """Groups, steps and resources belong to a course: shown with it, never edited by hand.

    They follow the course's permissions rather than their own models', so that whoever may see a
    course sees all of it.
    """

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    classes = ("course-part",)  # styled in config/templates/admin/base_site.html

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.get_model_admin(Course).has_view_permission(request, obj)


class LabGroupAddInline(admin.TabularInline):
    """The groups of a new course, typed in with it and validated by the course service."""

    model = LabGroup
    formset = LabGroupFormSet
    fields = ("number", "name")
    extra = 3
    can_delete = False
    verbose_name_plural = "Lab groups (laboratory courses only: 1 to 50)"

    # Part of creating a course: whoever may add a course may type its groups.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and self.admin_site.get_model_admin(Course).has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LabGroupInline(CoursePartInline):
    model = LabGroup
    fields = ("number", "name")


class ProvisioningStepInline(StepColumns, CoursePartInline):
    model = ProvisioningStep
    verbose_name_plural = "Provisioning steps"
    fields = (
        "order",
        "name",
        "status_badge",
        "attempts",
        "started",
        "duration",
        "last_error",
    )
    started = time_column("started_at", description="started", with_seconds=True)


class ExternalResourceInline(ResourceColumns, CoursePartInline):
    model = ExternalResource
    verbose_name_plural = "Discord and GitHub resources"
    fields = ("provider", "kind", "key", "lab_group", "state_badge", "link")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExternalResource]:
        # The course too: a Discord link is made from its server id when none was recorded.
        return super().get_queryset(request).select_related("lab_group", "course")


class CourseRebindForm(ModelForm):
    """An existing course's page: its Discord server, editable while it can be rebound.

    The rebind happens in clean(), through the service, so that a refusal shows on the field;
    the admin's transaction holds it, and its run starts once the page's save commits.
    """

    class Meta:
        model = Course
        fields = ("discord_guild_id",)

    def clean_discord_guild_id(self) -> str:
        value = (self.cleaned_data.get("discord_guild_id") or "").strip()
        if "discord_guild_id" not in self.changed_data:
            return value
        try:
            course_rebind(course=self.instance, discord_guild_id=value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("discord_guild_id", exc.messages)) from exc
        except (CourseConflictError, CourseBusyError, NothingToRetryError) as exc:
            raise ValidationError(str(exc)) from exc
        return value


class OperationInline(OperationColumns, CoursePartInline):
    """Provisioning and every change after it, each step with all its attempts."""

    model = Operation
    verbose_name_plural = "Operations (each step with every attempt)"
    fields = ("kind", "status_badge", "asked_by", "created", "finished", "steps_and_attempts")
    created = time_column("created_at", description="asked", with_seconds=True)
    finished = time_column("finished_at", description="finished", with_seconds=True)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Operation]:
        return (
            super()
            .get_queryset(request)
            .select_related("requested_by_key", "requested_by_user")
            .prefetch_related(*OPERATION_PREFETCH)
        )


@dataclass(frozen=True)
class AuditRow:
    """One line of the course page's "latest external calls" table."""

    url: str
    created_at: datetime
    step: str
    request: str
    status: SafeString
    duration: str


@admin.register(Course)
class CourseAdmin(ReadOnlyFieldsMixin, CourseRosterAdmin, CourseOperationsAdmin):
    # CourseRosterAdmin: the roster's inline, its Roster page and buttons (courses.admin_roster).
    # CourseOperationsAdmin: the archive, unarchive, verify, repair and tear down buttons and
    # their pages, the list's archive and verify actions, the drift panel (its get_urls and
    # render_change_form are reached through super()).
    form = CourseAddForm
    list_display = ("name", "semester", "type", "status_badge", "progress", "created")
    list_filter = ("status", "type", "semester", DeletedFilter)
    search_fields = ("name",)
    actions = ("retry_failed_steps", "archive_selected", "verify_selected")
    list_per_page = 50
    save_on_top = True  # the Retry button of a failed course, above its long list of steps

    # --- list ---------------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                steps_total=_step_count(),
                steps_done=_step_count(status__in=ProvisioningStep.DONE),
            )
        )

    status_badge = badge_column("status")

    @admin.display(description="progress", ordering="steps_done")
    def progress(self, course: Course) -> SafeString:
        # Annotated on the list's queryset (get_queryset), unknown to the model's type.
        done, total = course.steps_done, course.steps_total  # type: ignore[attr-defined]
        return format_html(
            '<progress class="steps" max="{}" value="{}"></progress> {} / {}',
            total or 1,
            done,
            done,
            total,
        )

    created = time_column("created_at", description="created")

    # --- add and change pages -----------------------------------------------------------------
    def get_fieldsets(self, request: HttpRequest, obj: Course | None = None) -> list:
        if obj is None:
            return [(None, {"fields": COURSE_FIELDS})]
        return [
            (
                None,
                {
                    "fields": (
                        ("name", "semester", "type"),
                        ("status_badge", "progress"),
                        ("priority", "discord_guild_id", "github_org"),
                        ("created_at", "updated_at"),
                    )
                },
            )
        ]

    def get_editable_fields(self, request: HttpRequest, obj: Course | None = None) -> tuple:
        # A new course is typed in; an existing one is only shown (see the module docstring),
        # but for its Discord server while it can still be rebound (courses.changes).
        if obj is None:
            return COURSE_FIELDS
        return ("discord_guild_id",) if course_rebindable(course=obj) else ()

    def get_form(
        self, request: HttpRequest, obj: Course | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is not None:
            kwargs["form"] = CourseRebindForm
        return super().get_form(request, obj, change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Course | None) -> list:
        if obj is None:
            return [LabGroupAddInline]
        return [LabGroupInline, ProvisioningStepInline, OperationInline, ExternalResourceInline]

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Course, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LabGroupAddInline):
            # Numbered rows: staff type names only. Given on POST too, so that a row left as it
            # was offered (a number, no name) counts as unchanged and is ignored.
            kwargs["initial"] = [{"number": n} for n in range(1, inline.extra + 1)]
        return kwargs

    def has_delete_permission(self, request: HttpRequest, obj: Course | None = None) -> bool:
        return False  # see the module docstring

    def save_model(self, request: HttpRequest, obj: Course, form: ModelForm, change: bool) -> None:
        # A new course is created in save_related(), the first place where both the course form
        # and its lab groups are at hand. Of an existing one only the server can change: the
        # form's clean() rebound it already, so that a refusal shows on the field.
        return

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm,
        formsets: list[BaseInlineFormSet],
        change: bool,
    ) -> None:
        if change:  # only the server changed, rebound by the form: nothing else to save
            for formset in formsets:
                formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        groups = [g for fs in formsets if fs.model is LabGroup for g in lab_group_inputs(fs)]
        data = form.cleaned_data
        # The service creates the course, its groups and its steps, and enqueues provisioning
        # for when the admin's transaction commits.
        course = course_create(
            name=data["name"],
            semester=data["semester"],
            type=data["type"],
            lab_groups=groups,
            discord_guild_id=data.get("discord_guild_id") or "",
            github_org=data.get("github_org") or "",
            priority=data.get("priority") or Course.Priority.NORMAL,
            created_by_user=request.user if isinstance(request.user, User) else None,
        )
        # The admin goes on with form.instance (history entry, redirect): make it that course,
        # and tell its history message which groups were added, as formset.save() would.
        form.instance.__dict__.update(course.__dict__)
        for formset in formsets:
            formset.new_objects = list(course.lab_groups.all()) if formset.model is LabGroup else []
            formset.changed_objects, formset.deleted_objects = [], []

    def response_add(
        self, request: HttpRequest, obj: Course, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self._say_where_provisioning_is(request, obj)
        return HttpResponseRedirect(reverse("admin:courses_course_change", args=[quote(obj.pk)]))

    def _say_where_provisioning_is(self, request: HttpRequest, course: Course) -> None:
        """Say what is true once Save returns. The admin saves in a transaction and provisioning
        starts on its commit, after this runs: the course's status tells nothing yet, where its
        run happens does (inline, it has run by the time the next page shows)."""
        mode = execution_mode()
        if mode == CELERY:
            text = "Course “{}” was created; its provisioning is queued for a worker. "
            text += "This page follows its steps."
        elif mode == INLINE:
            text = "Course “{}” was created and its provisioning has run: see its steps below."
        else:
            text = "Course “{}” was created; its provisioning runs in the background. "
            text += "This page follows its steps."
        level = messages.SUCCESS
        self.message_user(request, format_html(text, course), level)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Course | None = None,
    ) -> HttpResponse:
        if obj is None:
            # After saving, staff land on the new course's page anyway (see response_add).
            context["show_save_and_continue"] = False
        else:
            context.update(self._course_page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _course_page_context(self, request: HttpRequest, course: Course) -> dict[str, Any]:
        recent = (
            AuditLog.objects.filter(course=course)
            .order_by("-created_at", "-id")
            .only(
                "id",
                "created_at",
                "step",
                "attempt",
                "method",
                "route",
                "response_status",
                "duration_ms",
            )
        )[:RECENT_AUDIT_ENTRIES]
        running = course.status in Course.ACTIVE
        failed = course.status == Course.Status.FAILED
        return {
            "title": "Course",
            # The change page shows; it never saves (see the module docstring).
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "auto_refresh_seconds": AUTO_REFRESH_SECONDS if running else 0,
            "failed_step": failed_step(course=course) if failed else None,
            "can_retry": failed and self.has_change_permission(request, course),
            "retry_url": reverse("admin:courses_course_retry", args=[quote(course.pk)]),
            # The calls are the audit log's: shown to those who may read it, as in the API.
            "show_audit": request.user.has_perm("audit.view_auditlog"),
            "recent_audit": [
                AuditRow(
                    url=reverse("admin:audit_auditlog_change", args=[entry.pk]),
                    created_at=entry.created_at,
                    step=f"{entry.step} #{entry.attempt}" if entry.attempt else entry.step,
                    request=f"{entry.method} {entry.route}",
                    status=http_status_badge(entry.response_status),
                    duration=milliseconds(entry.duration_ms),
                )
                for entry in recent
            ],
            "audit_url": admin_changelist_url(AuditLog, course=course.pk),
            "jobs_url": admin_changelist_url(JobExecution, course=course.pk),
        }

    # --- retry --------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        retry = path(
            "<path:object_id>/retry/",
            self.admin_site.admin_view(self.retry_view),
            name="courses_course_retry",
        )
        return [retry, *super().get_urls()]  # before the catch-all "<path:object_id>/"

    @admin.action(description="Retry failed steps", permissions=["change"])
    def retry_failed_steps(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        self._retry(request, list(queryset))

    @method_decorator(require_POST)
    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Retry failed steps" button of a failed course's page."""
        course = self.get_object(request, unquote(object_id))
        if course is None:
            # Django's own "no such object" answer; private, so absent from the stubs.
            redirect = self._get_obj_does_not_exist_redirect  # type: ignore[attr-defined]
            return redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, course):
            raise PermissionDenied
        self._retry(request, [course])
        return HttpResponseRedirect(reverse("admin:courses_course_change", args=[quote(course.pk)]))

    def _retry(self, request: HttpRequest, courses: list[Course]) -> None:
        """Retry each course through the service; say what was done and what was refused."""
        retried: list[Course] = []
        busy: list[Course] = []
        idle: list[Course] = []
        for course in courses:
            owner_key, owner_user = course_owner(course=course)
            try:
                # A retry makes the course active again: it counts against its owner's cap,
                # here as in the API.
                with active_courses_cap(api_key=owner_key, user=owner_user):
                    provisioning_retry(course=course)
            except CourseBusyError:
                busy.append(course)
            except NothingToRetryError:
                idle.append(course)
            except LimitExceeded as exc:
                self.message_user(request, f"{course} not retried: {exc.detail}", messages.ERROR)
            else:
                retried.append(course)
        if retried:
            self.message_user(
                request,
                ngettext(
                    "Retrying the failed steps of %(count)d course: %(names)s.",
                    "Retrying the failed steps of %(count)d courses: %(names)s.",
                    len(retried),
                )
                % {"count": len(retried), "names": _names(retried)},
                messages.SUCCESS,
            )
        if busy:
            self.message_user(
                request,
                ngettext(
                    "Not retried, being provisioned right now: %(names)s.",
                    "Not retried, %(count)d courses are being provisioned right now: %(names)s.",
                    len(busy),
                )
                % {"count": len(busy), "names": _names(busy)},
                messages.WARNING,
            )
        if idle:
            self.message_user(
                request,
                ngettext(
                    "Not retried, no failed step: %(names)s.",
                    "Not retried, %(count)d courses have no failed step: %(names)s.",
                    len(idle),
                )
                % {"count": len(idle), "names": _names(idle)},
                messages.WARNING,
            )


def _names(courses: list[Course]) -> str:
    return ", ".join(sorted(str(course) for course in courses))
