"""The admin building blocks every app shares: columns, the derived read-only fields, the generic
course filter, and the module's neutrality (it imports no app)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditLog
from common import admin_blocks
from common.admin_blocks import (
    CourseFilter,
    ReadOnlyAdmin,
    ReadOnlyFieldsMixin,
    admin_link,
    badge,
    badge_column,
    course_column,
    duration_column,
    milliseconds_column,
    time_column,
)
from provisioning.models import ProvisioningStep
from tests.factories import CourseFactory
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db
PROJECT_APPS = {"api", "audit", "config", "courses", "integrations", "provisioning", "sandbox"}


def request():
    return RequestFactory().get("/")


@pytest.mark.parametrize("status", ["IN_PROGRESS", "RUNNING"])
def test_a_running_step_gets_the_running_tone_under_either_name(status):
    assert 'class="status-badge status-running"' in badge(status, "In progress")


def test_the_columns_render_and_sort_by_their_field():
    course = CourseFactory(name="Algorithms", semester="2026-fall")
    started = timezone.now()
    step = ProvisioningStep(
        course=course,
        name="CREATE_GITHUB_REPO",
        order=1,
        status=ProvisioningStep.Status.FAILED,
        started_at=started,
        finished_at=started + timedelta(seconds=185),
    )

    class Columns:
        status_badge = badge_column("status")
        course_link = course_column()
        duration = duration_column("duration_seconds")
        took = duration_column(lambda row: None)
        attempts_ms = milliseconds_column("attempts")
        started = time_column("started_at", description="started", with_seconds=True)

    columns = Columns()
    assert columns.status_badge(step) == badge("FAILED", "Failed")
    assert Columns.status_badge.admin_order_field == "status"
    assert Columns.status_badge.short_description == "status"
    url = reverse("admin:courses_course_change", args=[course.pk])
    assert columns.course_link(step) == f'<a href="{url}">{course}</a>'
    assert Columns.course_link.admin_order_field == "course__name"
    assert columns.duration(step) == "3 min 5 s"
    assert columns.took(step) == "-"
    assert columns.attempts_ms(step) == "0 ms"
    assert Columns.attempts_ms.admin_order_field == "attempts"
    assert columns.started(step) == admin_blocks.when(started, with_seconds=True)
    assert admin_link(None) == "-"


def test_read_only_fields_are_every_field_shown_but_the_editable_ones():
    class Everything(ReadOnlyAdmin):
        fieldsets = ((None, {"fields": (("name", "order"), "status_badge")}),)

    class Mostly(ReadOnlyFieldsMixin, admin.ModelAdmin):
        fields = ("name", "order", "last_error")
        editable_fields = ("last_error",)

    site = admin.AdminSite()
    assert Everything(ProvisioningStep, site).get_readonly_fields(request()) == (
        "name",
        "order",
        "status_badge",
    )
    assert Mostly(ProvisioningStep, site).get_readonly_fields(request()) == ("name", "order")


def test_read_only_fields_need_the_fields_declared():
    class Undeclared(ReadOnlyAdmin):
        pass

    with pytest.raises(ImproperlyConfigured, match="declare fields or fieldsets"):
        Undeclared(ProvisioningStep, admin.AdminSite()).get_readonly_fields(request())


@pytest.mark.parametrize("model", [AuditLog, ProvisioningStep])
def test_the_course_filter_works_on_any_model_with_a_course(model):
    courses = [CourseFactory(name=f"Course {n}") for n in range(12)]
    oldest = courses[0]
    model_admin = admin.site.get_model_admin(model)

    offered = CourseFilter(request(), {}, model, model_admin).lookup_choices
    assert len(offered) == CourseFilter.recent
    assert str(oldest.pk) not in dict(offered)  # not among the recent ones...

    selected = CourseFilter(request(), {"course": [str(oldest.pk)]}, model, model_admin)
    assert str(oldest.pk) in dict(selected.lookup_choices)  # ...but offered once selected
    filtered = selected.queryset(request(), model.objects.all())
    assert "course_id" in str(filtered.query)

    invalid = CourseFilter(request(), {"course": ["not-a-uuid"]}, model, model_admin)
    with pytest.raises(IncorrectLookupParameters, match="not a course id"):
        invalid.queryset(request(), model.objects.all())


def test_the_audit_step_filter_offers_the_registered_steps_in_order():
    from audit.admin import StepFilter
    from provisioning.steps import CHANGE_STEPS, STEPS

    offered = [name for name, _ in StepFilter(request(), {}, AuditLog, None).lookup_choices]

    every = (*STEPS.values(), *CHANGE_STEPS.values())
    expected = list(dict.fromkeys(str(name) for steps in every for name in steps))
    assert offered == expected


def test_common_imports_no_app_of_the_project():
    for path in (ROOT / "common").rglob("*.py"):
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in PROJECT_APPS, (path, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in PROJECT_APPS, (path, alias.name)
