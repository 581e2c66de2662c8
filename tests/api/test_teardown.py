"""DELETE /courses/{id} (tear down), and torn-down courses hidden from lists unless asked."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from courses.services import course_check
from tests.api.helpers import assert_error
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {course["id"] for course in response.json()["results"]}


def test_delete_tears_the_course_down_and_the_name_is_free_again(
    api, platforms, provision, django_capture_on_commit_callbacks
):
    platforms.add_servers(1)
    course = provision(name="Algorithms")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/courses/{course.id}")

    assert response.status_code == 202, response.json()
    assert response["Location"].endswith(f"/courses/{course.id}/operations")
    assert response.json()["kind"] == "TEARDOWN"
    assert response.json()["requestedBy"]["apiKey"] == "LMS"
    operations = api.get(f"/courses/{course.id}/operations").json()
    assert [(o["kind"], o["status"]) for o in operations][-1] == ("TEARDOWN", "COMPLETED")
    assert platforms.state()["github"]["repos"] == {}

    # Hidden from the list, shown when asked; still readable by id, with when it went.
    assert str(course.id) not in _ids(api.get("/courses"))
    assert str(course.id) in _ids(api.get("/courses?deleted=true"))
    body = api.get(f"/courses/{course.id}").json()
    assert body["deletedAt"] is not None and body["discordGuildId"] is None

    # Nothing more is done with it: 409s.
    assert_error(api.delete(f"/courses/{course.id}"), 409, contains="torn down")
    assert_error(api.post(f"/courses/{course.id}/verify"), 409, contains="torn down")
    assert_error(api.post(f"/courses/{course.id}/retry"), 409, contains="torn down")
    assert_error(api.patch(f"/courses/{course.id}", {"name": "X"}, format="json"), 409)

    # Its name and semester are free, and a new course of that name provisions.
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(
            "/courses",
            {"name": "Algorithms", "semester": "2026-fall", "type": "LECTURE"},
            format="json",
        )
    assert again.status_code == 202, again.json()
    assert Course.objects.get(id=again.json()["id"]).status == Course.Status.COMPLETED
    assert again.json()["deletedAt"] is None


def test_delete_is_409_while_the_course_is_busy(api):
    course = CourseFactory.create(status=Course.Status.IN_PROGRESS)
    assert_error(api.delete(f"/courses/{course.id}"), 409, contains="busy")
    assert not course.operations.exists()


def test_delete_of_another_keys_course_is_404(client_for, own_key):
    course = CourseFactory.create(status=Course.Status.COMPLETED)
    assert_error(client_for(own_key.raw).delete(f"/courses/{course.id}"), 404)


def test_a_deleted_course_clashes_with_nothing():
    gone = CourseFactory.create(
        name="Databases", slug="2026-fall-databases", deleted_at=timezone.now()
    )
    found = course_check(name="Databases", semester="2026-fall", type="LECTURE")
    assert found.conflicts == [] and found.errors == {}
    assert gone.id


def test_the_admin_list_hides_torn_down_courses_unless_asked(admin_client):
    live = CourseFactory.create(name="Live one")
    gone = CourseFactory.create(name="Gone one", deleted_at=timezone.now())
    url = reverse("admin:courses_course_changelist")

    def names(query: str) -> set[str]:
        response = admin_client.get(url + query)
        assert response.status_code == 200
        return {course.name for course in response.context["cl"].result_list}

    assert names("") == {live.name}
    assert names("?deleted=yes") == {gone.name}
    assert names("?deleted=all") == {live.name, gone.name}
    page = admin_client.get(reverse("admin:courses_course_change", args=[gone.pk]))
    assert page.status_code == 200


def test_metrics_count_live_courses_only(settings):
    settings.METRICS_TOKEN = "t"
    CourseFactory.create(status=Course.Status.COMPLETED)
    CourseFactory.create(status=Course.Status.COMPLETED, deleted_at=timezone.now())

    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()

    assert 'course_provisioning_courses{status="COMPLETED"} 1.0' in text
