"""Staff sessions get exactly their Django model permissions in the API, as in the admin, and the
same cap on active courses as a key."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from courses.models import Course
from tests.api.helpers import assert_error, lecture_body
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def _session(make_user, *perms: str, name: str = "person") -> APIClient:
    client = APIClient()
    client.force_login(make_user(name, *perms))
    return client


# (what is asked, the permissions it needs)
READS = {
    "list": ("/courses", ("courses.view_course",)),
    "retrieve": ("/courses/{id}", ("courses.view_course",)),
    "status": ("/courses/{id}/status", ("courses.view_course",)),
    "resources": ("/courses/{id}/resources", ("courses.view_course",)),
    "audit": ("/courses/{id}/audit", ("courses.view_course", "audit.view_auditlog")),
}


@pytest.mark.parametrize("case", list(READS))
def test_reads_need_their_permissions(make_user, case):
    path, perms = READS[case]
    course = CourseFactory()
    path = path.format(id=course.id)

    allowed = _session(make_user, *perms, name="allowed")
    assert allowed.get(path).status_code == 200

    # Every permission but one: still refused, naming the missing one.
    for missing in perms:
        others = [perm for perm in perms if perm != missing]
        refused = _session(make_user, *others, name=f"without-{missing}")
        assert_error(refused.get(path), 403, contains=missing)


def test_a_staff_account_with_no_permission_can_do_nothing(make_user):
    course = CourseFactory(status=Course.Status.FAILED)
    client = _session(make_user)

    for path, _ in READS.values():
        assert_error(client.get(path.format(id=course.id)), 403, contains="lacks the permission")
    assert_error(client.post("/courses", lecture_body(), format="json"), 403)
    assert_error(client.post(f"/courses/{course.id}/retry"), 403)
    assert Course.objects.count() == 1


def test_create_needs_add_course(make_user):
    refused = _session(make_user, "courses.view_course", "courses.change_course", name="no-add")
    assert_error(
        refused.post("/courses", lecture_body(), format="json"), 403, contains="add_course"
    )
    assert not Course.objects.exists()

    allowed = _session(make_user, "courses.add_course", name="adder")
    response = allowed.post("/courses", lecture_body(name="Made"), format="json")
    assert response.status_code == 202, response.json()
    made = Course.objects.get(name="Made")
    assert made.created_by_user.username == "adder"  # counted against this person


def test_retry_needs_change_course(make_user):
    course = CourseFactory(status=Course.Status.FAILED)
    refused = _session(make_user, "courses.view_course", "courses.add_course", name="no-change")
    assert_error(refused.post(f"/courses/{course.id}/retry"), 403, contains="change_course")

    allowed = _session(make_user, "courses.change_course", name="changer")
    # 409: past the permission check, the service says there is no failed step (factory course).
    assert allowed.post(f"/courses/{course.id}/retry").status_code == 409


def test_superuser_holds_every_permission(make_user):
    client = APIClient()
    client.force_login(make_user("root", is_superuser=True))

    assert client.get("/courses").status_code == 200


def test_inactive_or_non_staff_accounts_are_refused(make_user):
    for user in (
        make_user("left", "courses.view_course", is_active=False),
        make_user("student", "courses.view_course", is_staff=False),
    ):
        client = APIClient()
        client.force_login(user)
        assert client.get("/courses").status_code in (401, 403)


def test_staff_sessions_have_the_same_cap_as_keys(make_user, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 2
    client = _session(make_user, "courses.add_course", name="busy")
    for _ in range(2):
        assert client.post("/courses", lecture_body(), format="json").status_code == 202

    response = client.post("/courses", lecture_body(name="Third"), format="json")

    body = assert_error(response, 429, contains="Active courses limit reached")
    assert "this staff account" in body["message"]
    assert not Course.objects.filter(name="Third").exists()
    # Another person has their own cap.
    other = _session(make_user, "courses.add_course", name="other")
    assert other.post("/courses", lecture_body(), format="json").status_code == 202
