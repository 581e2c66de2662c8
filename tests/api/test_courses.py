"""The course endpoints: create, list (filters, search, pages), read, status, resources, audit."""

from __future__ import annotations

import uuid

import pytest

from audit.models import AuditLog
from courses.models import Course
from provisioning.selectors import course_status
from tests.api.helpers import assert_error, laboratory_body, lecture_body
from tests.factories import CourseFactory, LabGroupFactory

pytestmark = pytest.mark.django_db

COURSE_KEYS = {
    "id",
    "name",
    "semester",
    "type",
    "labGroups",
    "status",
    "priority",
    "discordGuildId",
    "githubOrg",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "archivedAt",
}


def test_create_laboratory_answers_202_with_location_and_the_course(api, api_key):
    body = laboratory_body(groups=2, name="Operating Systems", discordGuildId="123456789012345678")

    response = api.post("/courses", body, format="json")

    assert response.status_code == 202, response.json()
    course = response.json()
    assert set(course) == COURSE_KEYS
    assert course["name"] == "Operating Systems"
    assert course["type"] == "LABORATORY"
    assert course["status"] == "PENDING"
    assert course["discordGuildId"] == "123456789012345678"
    assert course["labGroups"] == [
        {"name": "Group 1", "number": 1},
        {"name": "Group 2", "number": 2},
    ]
    assert response["Location"] == f"http://testserver/courses/{course['id']}"
    row = Course.objects.get(id=course["id"])
    assert row.created_by_key == api_key.model
    assert row.steps.count() == 6  # planned, pending


def test_create_lecture_without_a_server_gives_null_guild(api):
    response = api.post("/courses", lecture_body(), format="json")

    assert response.status_code == 202
    assert response.json()["discordGuildId"] is None
    assert response.json()["labGroups"] == []


def test_create_accepts_null_discord_guild(api):
    response = api.post("/courses", lecture_body(discordGuildId=None), format="json")

    assert response.status_code == 202


def test_created_course_is_provisioned_through_the_same_task(
    api, platforms, django_capture_on_commit_callbacks
):
    platforms.add_servers(1)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/courses", laboratory_body(groups=2), format="json")
    course_id = response.json()["id"]

    status = api.get(f"/courses/{course_id}/status").json()
    assert status["courseStatus"] == "COMPLETED", status
    assert status["progress"] == {"completed": 6, "total": 6}

    resources = api.get(f"/courses/{course_id}/resources").json()
    repos = [r for r in resources if r["kind"] == "repository"]
    assert len(repos) == 2
    assert {r["labGroup"] for r in repos} == {1, 2}
    assert all(r["url"] and r["externalId"] and r["state"] == "confirmed" for r in repos)
    server = [r for r in resources if r["provider"] == "discord" and r["labGroup"] is None]
    assert server

    audit = api.get(f"/courses/{course_id}/audit?pageSize=5").json()
    assert audit["count"] == AuditLog.objects.filter(course_id=course_id).count() > 5
    assert len(audit["results"]) == 5
    assert audit["next"] and audit["previous"] is None
    ids = [entry["id"] for entry in audit["results"]]
    times = [entry["createdAt"] for entry in audit["results"]]
    assert times == sorted(times, reverse=True) and ids == sorted(ids, reverse=True)
    assert {"provider", "method", "route", "responseStatus", "durationMs"} <= set(
        audit["results"][0]
    )


def test_retrieve(api):
    course = CourseFactory(name="Compilers")
    LabGroupFactory(course=course, number=3, name="Tuesday")

    response = api.get(f"/courses/{course.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(course.id) and body["name"] == "Compilers"
    assert body["labGroups"] == [{"name": "Tuesday", "number": 3}]


def test_retrieve_unknown_is_404_in_the_error_shape(api):
    course_id = uuid.uuid4()

    assert_error(api.get(f"/courses/{course_id}"), 404, contains=f"No course with id {course_id}")


@pytest.mark.parametrize("suffix", ["", "/status", "/resources", "/audit"])
def test_not_a_uuid_is_404_in_the_error_shape(api, suffix):
    assert_error(api.get(f"/courses/not-a-uuid{suffix}"), 404)


@pytest.mark.parametrize("suffix", ["/status", "/resources", "/audit", "/retry"])
def test_actions_of_an_unknown_course_are_404(api, suffix):
    method = api.post if suffix == "/retry" else api.get
    assert_error(method(f"/courses/{uuid.uuid4()}{suffix}"), 404)


def test_status_is_exactly_the_selector(api, provision, platforms):
    course = provision(name="Networks")  # no server in the pool: fails at the first step

    body = api.get(f"/courses/{course.id}/status").json()

    assert body == course_status(course=course)
    assert body["courseStatus"] == "FAILED"
    assert body["steps"][0]["stepName"] == "SETUP_DISCORD_SERVER"
    assert "No Discord server is available" in body["steps"][0]["lastError"]


def test_list_newest_first_paginated(api):
    for n in range(3):
        CourseFactory(name=f"Course {n}")

    page1 = api.get("/courses?pageSize=2").json()
    page2 = api.get("/courses?pageSize=2&page=2").json()

    assert page1["count"] == 3
    assert [c["name"] for c in page1["results"]] == ["Course 2", "Course 1"]
    assert [c["name"] for c in page2["results"]] == ["Course 0"]
    assert page1["next"].endswith("page=2&pageSize=2")
    assert page2["next"] is None


def test_list_page_past_the_end_is_404(api):
    assert_error(api.get("/courses?page=5"), 404, contains="Page 5 does not exist")


@pytest.mark.parametrize(
    "query", ["page=0", "page=abc", "pageSize=0", "pageSize=101", "pageSize=-1", "page=1.5"]
)
def test_list_bad_page_parameters_are_400(api, query):
    assert_error(api.get(f"/courses?{query}"), 400)


def test_list_filters_and_search(api):
    CourseFactory(name="Databases", semester="2026-fall", status="COMPLETED", type="LECTURE")
    CourseFactory(name="Distributed Databases", semester="2027-spring", type="LABORATORY")
    CourseFactory(name="Graphics", semester="2026-fall", status="FAILED")

    def names(query: str) -> set[str]:
        response = api.get(f"/courses?{query}")
        assert response.status_code == 200, response.json()
        return {c["name"] for c in response.json()["results"]}

    assert names("status=COMPLETED") == {"Databases"}
    assert names("type=LABORATORY") == {"Distributed Databases"}
    assert names("semester=2026-fall") == {"Databases", "Graphics"}
    assert names("search=databases") == {"Databases", "Distributed Databases"}
    assert names("search=data&semester=2027-spring") == {"Distributed Databases"}
    assert names("status=PENDING&type=LECTURE") == set()


@pytest.mark.parametrize("query", ["status=DONE", "type=SEMINAR", "search=%00"])
def test_list_bad_filters_are_400_naming_the_parameter(api, query):
    body = assert_error(api.get(f"/courses?{query}"), 400)
    assert set(body["details"]) == {query.split("=")[0]}


def test_resources_of_a_course_without_any(api):
    course = CourseFactory()

    assert api.get(f"/courses/{course.id}/resources").json() == []


def test_audit_of_a_course_without_calls(api):
    course = CourseFactory()

    body = api.get(f"/courses/{course.id}/audit").json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_github_org_is_taken_normalized_and_shown(api, api_key, settings):
    response = api.post("/courses", lecture_body(githubOrg="Dept-Physics"), format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["githubOrg"] == "dept-physics"
    assert Course.objects.get(id=response.json()["id"]).github_org == "dept-physics"
    default = api.post("/courses", lecture_body(name="Other"), format="json").json()
    assert default["githubOrg"] == settings.GITHUB_ORG


def test_a_malformed_github_org_is_a_400_naming_the_field(api, api_key):
    response = api.post("/courses", lecture_body(githubOrg="-not valid-"), format="json")
    assert response.status_code == 400
    assert "githubOrg" in response.json()["details"]
