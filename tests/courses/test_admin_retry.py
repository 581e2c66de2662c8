"""Retrying from the admin: the bulk action and the course page's button, both through
provisioning_retry, saying what they did and what they refused."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from courses.models import Course
from provisioning.models import ProvisioningStep
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db
LIST_URL = reverse("admin:courses_course_changelist")


def failed_course(**fields: object) -> Course:
    course = CourseFactory.create(status=Course.Status.FAILED, **fields)
    ProvisioningStep.objects.create(course=course, name="SETUP_DISCORD_SERVER", order=1)
    course.steps.update(status="FAILED", attempts=1, last_error="No Discord server is available")
    return course


def run_action(client, *courses: Course):
    return client.post(
        LIST_URL,
        {"action": "retry_failed_steps", "_selected_action": [str(c.pk) for c in courses]},
        follow=True,
    )


def said(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_the_action_refuses_a_running_course(staff_client, django_capture_on_commit_callbacks):
    running = CourseFactory(name="Compilers", status=Course.Status.IN_PROGRESS)
    ProvisioningStep.objects.create(course=running, name="CREATE_GITHUB_REPO", order=1)

    with django_capture_on_commit_callbacks() as callbacks:
        response = run_action(staff_client, running)

    assert said(response) == [
        ("warning", "Not retried, being provisioned right now: Compilers (2026-fall).")
    ]
    assert callbacks == []
    running.refresh_from_db()
    assert running.status == Course.Status.IN_PROGRESS


def test_the_action_refuses_a_failed_course_whose_run_still_holds_it(staff_client):
    # FAILED but still leased: a run is finishing; retrying now would race it.
    course = failed_course(name="Compilers", run_token=uuid.uuid4())

    response = run_action(staff_client, course)

    assert said(response) == [
        ("warning", "Not retried, being provisioned right now: Compilers (2026-fall).")
    ]
    assert course.steps.get().status == "FAILED"


def test_the_action_retries_failed_courses_and_reports_each_kind(
    staff_client, django_capture_on_commit_callbacks
):
    one = failed_course(name="Algorithms")
    two = failed_course(name="Databases")
    done = CourseFactory(name="Networks", status=Course.Status.COMPLETED)
    busy = CourseFactory(name="Compilers", status=Course.Status.PENDING, run_token=uuid.uuid4())

    with django_capture_on_commit_callbacks() as callbacks:
        response = run_action(staff_client, one, two, done, busy)

    assert sorted(said(response)) == [
        (
            "success",
            "Retrying the failed steps of 2 courses: "
            "Algorithms (2026-fall), Databases (2026-fall).",
        ),
        ("warning", "Not retried, being provisioned right now: Compilers (2026-fall)."),
        ("warning", "Not retried, no failed step: Networks (2026-fall)."),
    ]
    assert len(callbacks) == 2, "one provisioning run enqueued per retried course"
    for course in (one, two):
        course.refresh_from_db()
        assert course.status == Course.Status.PENDING
        assert course.steps.get().status == "PENDING"


def test_the_button_retries_and_the_course_completes(
    staff_client, platforms, provision, django_capture_on_commit_callbacks
):
    course = provision(name="Algorithms")  # the pool is empty: the first step fails
    assert course.status == Course.Status.FAILED
    platforms.add_servers(1)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:courses_course_retry", args=[course.pk]), follow=True
        )

    assert response.redirect_chain == [
        (reverse("admin:courses_course_change", args=[course.pk]), 302)
    ]
    assert said(response) == [
        ("success", "Retrying the failed steps of 1 course: Algorithms (2026-fall).")
    ]
    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED


def test_the_button_refuses_a_course_with_nothing_to_retry(staff_client):
    course = CourseFactory(name="Networks", status=Course.Status.COMPLETED)

    response = staff_client.post(
        reverse("admin:courses_course_retry", args=[course.pk]), follow=True
    )

    assert said(response) == [("warning", "Not retried, no failed step: Networks (2026-fall).")]


def test_the_button_only_answers_post(staff_client):
    course = failed_course()

    response = staff_client.get(reverse("admin:courses_course_retry", args=[course.pk]))

    assert response.status_code == 405
    assert course.steps.get().status == "FAILED"


def test_staff_who_may_only_view_cannot_retry(viewer_client):
    course = failed_course()

    button = viewer_client.post(reverse("admin:courses_course_retry", args=[course.pk]))
    action = run_action(viewer_client, course)

    assert button.status_code == 403
    assert action.status_code == 200
    assert course.steps.get().status == "FAILED"


def test_a_retry_from_the_admin_counts_against_the_owners_cap(staff_client, settings):
    """The admin re-activates a course as the API would: past its key's cap, it is refused."""
    from api.services import api_key_create

    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1
    key, _ = api_key_create(name="LMS")
    CourseFactory.create(name="Busy", status=Course.Status.IN_PROGRESS, created_by_key=key)
    course = failed_course(name="Compilers", created_by_key=key)

    response = run_action(staff_client, course)

    [(level, message)] = said(response)
    assert level == "error" and message.startswith("Compilers (2026-fall) not retried: Active")
    assert "API_MAX_ACTIVE_COURSES_PER_KEY" in message
    assert course.steps.get().status == "FAILED"
