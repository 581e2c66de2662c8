"""POST /courses/{id}/retry: 202 and the status when a step failed; 409 otherwise."""

from __future__ import annotations

import pytest

from courses.models import Course
from tests.api.helpers import assert_error
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def test_retry_a_failed_course_completes_it(
    api, provision, platforms, django_capture_on_commit_callbacks
):
    course = provision(name="Retried")  # the pool is empty: the first step fails
    assert course.status == Course.Status.FAILED
    platforms.add_servers(1)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/courses/{course.id}/retry")

    assert response.status_code == 202, response.json()
    assert response.json()["courseId"] == str(course.id)
    assert response.json()["courseStatus"] == "PENDING"  # as queued; the run follows the commit
    assert response["Location"] == f"http://testserver/courses/{course.id}/status"
    status = api.get(f"/courses/{course.id}/status").json()
    assert status["courseStatus"] == "COMPLETED"
    assert status["steps"][0]["attempts"] == 2


@pytest.mark.parametrize("state", [Course.Status.COMPLETED, Course.Status.PENDING])
def test_nothing_to_retry_is_409(api, state):
    course = CourseFactory(status=state)

    assert_error(api.post(f"/courses/{course.id}/retry"), 409, contains="no failed step")


def test_retry_while_running_is_409(api):
    course = CourseFactory(status=Course.Status.IN_PROGRESS)

    assert_error(api.post(f"/courses/{course.id}/retry"), 409, contains="being provisioned")


def test_retry_with_a_body_that_is_not_json_is_415(api):
    course = CourseFactory(status=Course.Status.FAILED)

    response = api.post(f"/courses/{course.id}/retry", "please", content_type="text/plain")

    assert_error(response, 415)


def test_retry_takes_no_body(api):
    course = CourseFactory(status=Course.Status.FAILED)

    response = api.post(f"/courses/{course.id}/retry", {"force": True}, format="json")

    assert_error(response, 400, contains="no body")


def test_retry_is_post_only(api):
    course = CourseFactory()

    response = api.get(f"/courses/{course.id}/retry")

    assert_error(response, 405)
    assert response["Allow"] == "POST, OPTIONS"
