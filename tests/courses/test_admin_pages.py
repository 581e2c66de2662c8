"""The course list and a course's page: status, progress, steps, resources, latest calls."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditLog
from courses.models import Course
from provisioning.models import ExternalResource, ProvisioningStep
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db
LIST_URL = reverse("admin:courses_course_changelist")


def page_url(course: Course) -> str:
    return reverse("admin:courses_course_change", args=[course.pk])


def with_steps(course: Course, *statuses: str) -> Course:
    ProvisioningStep.objects.bulk_create(
        ProvisioningStep(course=course, name=f"STEP_{n}", order=n, status=status)
        for n, status in enumerate(statuses, 1)
    )
    return course


def test_list_shows_status_badges_and_progress(staff_client):
    with_steps(
        CourseFactory(name="Compilers", status="IN_PROGRESS"), "COMPLETED", "SKIPPED", "IN_PROGRESS"
    )
    with_steps(CourseFactory(name="Databases", status="FAILED"), "COMPLETED", "FAILED")

    html = staff_client.get(LIST_URL).content.decode()

    assert '<span class="status-badge status-running">In progress</span>' in html
    assert '<span class="status-badge status-failure">Failed</span>' in html
    # Skipped counts as done, as in the API's progress.
    assert '<progress class="steps" max="3" value="2"></progress> 2 / 3' in html
    assert '<progress class="steps" max="2" value="1"></progress> 1 / 2' in html


def test_list_filters_and_search(staff_client):
    CourseFactory(name="Compilers", semester="2026-fall", status="FAILED", type="LECTURE")
    CourseFactory(name="Networks", semester="2027-spring", status="COMPLETED", type="LABORATORY")

    def names(query: str) -> list[str]:
        response = staff_client.get(f"{LIST_URL}?{query}")
        assert response.status_code == 200
        return [course.name for course in response.context["cl"].result_list]

    assert names("status__exact=FAILED") == ["Compilers"]
    assert names("type__exact=LABORATORY") == ["Networks"]
    assert names("semester=2027-spring") == ["Networks"]
    assert names("q=compil") == ["Compilers"]


def test_a_provisioned_laboratory_shows_its_steps_resources_and_calls(
    staff_client, platforms, provision
):
    platforms.add_servers(1)
    course = provision(name="Networks", type="LABORATORY", groups=("Monday", "Tuesday"))
    assert course.status == "COMPLETED"

    response = staff_client.get(page_url(course))
    html = response.content.decode()

    assert response.status_code == 200
    assert not response.context["auto_refresh_seconds"]
    assert 'http-equiv="refresh"' not in html
    # Read-only: no input for the course's fields, no save button; no retry for a done course.
    assert 'name="name"' not in html
    assert 'name="_save"' not in html
    assert 'name="_retry"' not in html
    # Each step with its status and attempts.
    for step in course.steps.all():
        assert step.name in html
    assert html.count('<span class="status-badge status-success">Completed</span>') >= 7
    # Discord channels link into the server, repositories to their page.
    guild = course.discord_guild_id
    for channel in ExternalResource.objects.filter(course=course, kind="channel"):
        assert f'href="https://discord.com/channels/{guild}/{channel.external_id}"' in html
    repos = ExternalResource.objects.filter(course=course, kind="repository")
    assert repos.count() == 2
    for repo in repos:
        assert repo.url and f'href="{repo.url}"' in html
    # The latest calls, each linking to its audit entry, and the full list filtered by course.
    latest = AuditLog.objects.filter(course=course).order_by("-created_at", "-id")[:10]
    for entry in latest:
        assert reverse("admin:audit_auditlog_change", args=[entry.pk]) in html
    assert f'href="/admin/audit/auditlog/?course={course.pk}"' in html


def test_the_latest_calls_are_shown_only_to_who_may_read_the_audit_log(
    viewer_client, make_user, client
):
    course = with_steps(CourseFactory(), "COMPLETED")
    AuditLog.objects.create(
        course=course, provider="discord", method="GET", route="/guilds/{guild_id}", url="x"
    )
    client.force_login(make_user("course-only", "courses.view_course"))

    assert "Latest calls" not in client.get(page_url(course)).content.decode()
    assert "Latest calls" in viewer_client.get(page_url(course)).content.decode()


def test_a_course_in_progress_refreshes_itself(staff_client):
    course = with_steps(CourseFactory(status="IN_PROGRESS"), "COMPLETED", "IN_PROGRESS")

    html = staff_client.get(page_url(course)).content.decode()

    assert '<meta http-equiv="refresh" content="3">' in html
    assert "this page reloads every 3 seconds" in html


def test_a_failed_course_shows_its_error_and_a_retry_button(staff_client):
    course = with_steps(CourseFactory(status="FAILED"), "COMPLETED", "FAILED")
    course.steps.filter(status="FAILED").update(attempts=1, last_error="GitHub: <plan> limit")

    html = staff_client.get(page_url(course)).content.decode()

    assert 'http-equiv="refresh"' not in html
    assert re.search(
        r'id="failed-step">Step STEP_2 failed after 1 attempt: GitHub: &lt;plan&gt;', html
    )
    retry = reverse("admin:courses_course_retry", args=[course.pk])
    assert f'name="_retry" value="Retry failed steps" formaction="{retry}"' in html


def test_staff_who_may_only_view_get_no_retry_button(viewer_client):
    course = with_steps(CourseFactory(status="FAILED"), "FAILED")

    response = viewer_client.get(page_url(course))

    assert response.status_code == 200
    assert 'name="_retry"' not in response.content.decode()


def test_courses_are_not_deleted_from_the_admin(admin_client):
    course = CourseFactory()

    assert (
        admin_client.get(reverse("admin:courses_course_delete", args=[course.pk])).status_code
        == 403
    )
    actions = admin_client.get(LIST_URL).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions] == [
        "",
        "retry_failed_steps",
        "archive_selected",
        "verify_selected",
    ]
