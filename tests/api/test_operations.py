"""PATCH /courses/{id}, POST /courses/{id}/lab-groups, GET /courses/{id}/operations."""

from __future__ import annotations

import uuid

import pytest

from courses.models import Course
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha",))
    assert course.status == Course.Status.COMPLETED
    return course


def test_lab_groups_are_added_and_the_operation_is_listed(
    api, laboratory, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/courses/{laboratory.id}/lab-groups",
            {"labGroups": [{"name": "Beta", "number": 2}]},
            format="json",
        )
    assert response.status_code == 202, response.json()
    assert response["Location"].endswith(f"/courses/{laboratory.id}/operations")
    assert response.json()["kind"] == "ADD_GROUPS"
    assert response.json()["requestedBy"]["apiKey"] == "LMS"

    operations = api.get(f"/courses/{laboratory.id}/operations").json()
    assert [(o["kind"], o["status"]) for o in operations] == [
        ("PROVISION", "COMPLETED"),
        ("ADD_GROUPS", "COMPLETED"),
    ]
    step = operations[1]["steps"][0]
    assert step["stepName"] == "CREATE_GROUP_ROLES"
    assert [a["outcome"] for a in step["attempts"]] == ["SUCCEEDED"]
    groups = api.get(f"/courses/{laboratory.id}").json()["labGroups"]
    assert [g["number"] for g in groups] == [1, 2]


def test_bad_lab_groups_are_400(api, laboratory):
    url = f"/courses/{laboratory.id}/lab-groups"
    body = assert_error(
        api.post(url, {"labGroups": [{"name": "Alpha", "number": 5}]}, format="json"), 400
    )
    assert "labGroups" in body["details"]
    assert_error(api.post(url, {"labGroups": []}, format="json"), 400)
    assert_error(api.post(url, {"groups": []}, format="json"), 400)


def test_409_while_another_operation_runs(api, laboratory):
    Course.objects.filter(id=laboratory.id).update(
        status=Course.Status.IN_PROGRESS, run_token=uuid.uuid4()
    )
    body = {"labGroups": [{"name": "Beta", "number": 2}]}
    assert_error(
        api.post(f"/courses/{laboratory.id}/lab-groups", body, format="json"), 409, contains="busy"
    )
    assert_error(
        api.patch(f"/courses/{laboratory.id}", {"name": "New"}, format="json"), 409, contains="busy"
    )


def test_patch_name_renames_the_course(api, laboratory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"/courses/{laboratory.id}", {"name": "Systems II"}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["name"] == "Systems II"
    same = api.patch(f"/courses/{laboratory.id}", {"name": "Systems II"}, format="json")
    assert same.status_code == 200


def test_patch_discord_guild_id_rebinds_a_failed_course(
    api, platforms, provision, django_capture_on_commit_callbacks
):
    wrong = platforms.control.create_guild(name="No bot", bot_member=False)
    course = provision(name="Typo", discord_guild_id=wrong["id"])
    assert course.status == Course.Status.FAILED
    right = platforms.control.create_guild(name="Staff server")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/courses/{course.id}", {"discordGuildId": right["id"]}, format="json"
        )
    assert response.status_code == 202, response.json()
    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert course.discord_guild_id == right["id"]
    again = api.patch(f"/courses/{course.id}", {"discordGuildId": wrong["id"]}, format="json")
    assert_error(again, 409, contains="can no longer be changed")


def test_patch_takes_one_change(api, laboratory):
    url = f"/courses/{laboratory.id}"
    assert_error(api.patch(url, {}, format="json"), 400, contains="exactly one")
    assert_error(
        api.patch(url, {"name": "A", "discordGuildId": "123456789012345678"}, format="json"), 400
    )
    assert_error(api.patch(url, {"name": "\u202egnirts"}, format="json"), 400)
    assert_error(api.patch(url, {"discordGuildId": "12"}, format="json"), 400)
    assert_error(api.patch(url, {"type": "LECTURE"}, format="json"), 400)


def test_another_keys_course_is_404(own_key, client_for, laboratory):
    client = client_for(own_key.raw)
    assert_error(client.get(f"/courses/{laboratory.id}/operations"), 404)
    assert_error(client.patch(f"/courses/{laboratory.id}", {"name": "X"}, format="json"), 404)
    assert_error(
        client.post(
            f"/courses/{laboratory.id}/lab-groups",
            {"labGroups": [{"name": "B", "number": 2}]},
            format="json",
        ),
        404,
    )


def test_verify_then_drift_report(api, laboratory, django_capture_on_commit_callbacks):
    assert_error(api.get(f"/courses/{laboratory.id}/drift"), 404, contains="not been verified")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/courses/{laboratory.id}/verify")
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "VERIFY"
    assert response["Location"].endswith(f"/courses/{laboratory.id}/drift")
    report = api.get(f"/courses/{laboratory.id}/drift").json()
    assert report["courseId"] == str(laboratory.id) and not report["drifted"]
    assert {r["state"] for r in report["resources"]} == {"ok"}


def test_verify_is_409_while_another_operation_runs(api, laboratory):
    laboratory.operations.create(kind="RENAME")
    assert_error(api.post(f"/courses/{laboratory.id}/verify"), 409)
