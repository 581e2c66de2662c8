"""POST /courses/{id}/archive, /unarchive and POST /semesters/{semester}/archive."""

from __future__ import annotations

import pytest

from courses.models import Course
from provisioning.models import Operation
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecture(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Algebra", type="LECTURE")
    assert course.status == Course.Status.COMPLETED
    return course


def test_archive_then_unarchive_a_course(api, lecture, platforms, on_commit):
    guild = lecture.discord_guild_id
    with on_commit():
        response = api.post(f"/courses/{lecture.id}/archive")
    assert response.status_code == 202, response.json()
    assert (response.json()["kind"], response.json()["requestedBy"]["apiKey"]) == ("ARCHIVE", "LMS")
    assert response["Location"].endswith(f"/courses/{lecture.id}/operations")
    assert platforms.state()["discord"]["guilds"][guild]["name"].startswith("[archived] ")
    assert_error(api.post(f"/courses/{lecture.id}/archive"), 409, contains="already archived")
    assert_error(api.patch(f"/courses/{lecture.id}", {"name": "New"}, format="json"), 409)

    with on_commit():
        response = api.post(f"/courses/{lecture.id}/unarchive")
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "UNARCHIVE"
    assert platforms.state()["discord"]["guilds"][guild]["name"] == "Algebra · 2026-fall"
    assert_error(api.post(f"/courses/{lecture.id}/unarchive"), 409, contains="not archived")


def test_archive_is_409_while_another_operation_runs(api, lecture):
    lecture.operations.create(kind="VERIFY")
    assert_error(api.post(f"/courses/{lecture.id}/archive"), 409, contains="busy")


def test_another_keys_course_is_a_404(own_key, client_for, lecture):
    assert_error(client_for(own_key.raw).post(f"/courses/{lecture.id}/archive"), 404)


def test_semester_dry_run_answers_the_plan_and_writes_nothing(api, lecture, platforms):
    seen = len(platforms.control.requests())
    response = api.post("/semesters/Fall 2026/archive", {"dryRun": True}, format="json")
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert plan["semester"] == "2026-fall"
    assert [c["courseId"] for c in plan["courses"]] == [str(lecture.id)]
    assert (plan["githubWrites"], plan["discordWrites"], plan["skipped"]) == (1, 5, [])
    assert "estimatedSeconds" in plan and plan["courses"][0]["changes"]
    assert platforms.control.requests(since=seen) == []
    assert not Operation.objects.filter(kind="ARCHIVE").exists()


def test_semester_archive_starts_one_operation_per_course_and_lists_the_skipped(
    api, platforms, provision, on_commit
):
    platforms.add_servers(2)
    course = provision(name="Algebra", type="LECTURE")
    busy = provision(name="Busy", type="LECTURE")
    busy.operations.create(kind="VERIFY")

    with on_commit():
        response = api.post("/semesters/2026-fall/archive", {}, format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["semester"] == "2026-fall"
    [operation] = body["operations"]
    assert (operation["courseId"], operation["kind"]) == (str(course.id), "ARCHIVE")
    assert operation["status"] in ("PENDING", "COMPLETED")  # run on its commit
    assert body["skipped"] == [
        {"courseId": str(busy.id), "name": "Busy", "reason": body["skipped"][0]["reason"]}
    ]
    assert body["skipped"][0]["reason"].startswith("busy")
    course.refresh_from_db()
    assert course.archived_at is not None


def test_semester_errors(api, own_key, client_for, lecture):
    body = assert_error(api.post("/semesters/not-a-term/archive", {}, format="json"), 400)
    assert "semester" in body["details"]
    assert_error(api.post("/semesters/2030-spring/archive", {}, format="json"), 404)
    body = assert_error(api.post("/semesters/2026-fall/archive", {"dry": 1}, format="json"), 400)
    assert body["details"] == {"dry": ["Unknown field."]}
    ordinary = client_for(own_key.raw)
    assert_error(
        ordinary.post("/semesters/2026-fall/archive", {}, format="json"), 403, contains="admin"
    )
    assert_error(api.get("/semesters/2026-fall/archive"), 405)
    assert not Operation.objects.filter(kind="ARCHIVE").exists()
