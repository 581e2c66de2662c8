"""The roster's endpoints: /courses/{id}/members (list, import, remove, sync), /invites and
/links.csv. Courses are made by factories; a started sync is a PENDING operation (see
test_roster.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from courses.models import Course, CourseMember
from provisioning.models import Operation
from tests.api import conftest as api_fixtures
from tests.courses import roster_data as data

pytestmark = pytest.mark.django_db

# The API's key fixtures (tests/api/conftest.py), for the roster's endpoints.
_fresh_throttle = api_fixtures._fresh_throttle
api, api_key, own_key = api_fixtures.api, api_fixtures.api_key, api_fixtures.own_key
client_for = api_fixtures.client_for


@pytest.fixture
def course() -> Course:
    return data.laboratory()


def post_csv(client: APIClient, course: Course, body: Any, query: str = "", **headers: Any) -> Any:
    return client.generic(
        "POST", f"/courses/{course.id}/members{query}", body, content_type="text/csv", **headers
    )


def members_of(course: Course) -> int:
    return CourseMember.objects.filter(course=course).count()


def test_dry_run_answers_the_five_bad_lines_and_writes_nothing(api, course):
    response = post_csv(api, course, data.bad_csv(), "?dryRun=true")
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert plan["valid"] is False
    assert plan["errors"] == data.EXPECTED_ERRORS
    assert plan["counts"]["added"] == 118 and plan["counts"]["invalidLines"] == 5
    assert plan["rows"][0] == {
        "line": 2,
        "action": "add",
        "memberId": None,
        "name": "Ada Lovelace",
        "email": "ada@example.edu",
        "github": "ada-l",
        "role": "instructor",
        "group": None,
        "changes": [],
    }
    assert members_of(course) == 0 and not Operation.objects.exists()


def test_bad_lines_are_a_400_listing_every_one_and_nothing_is_imported(api, course):
    response = post_csv(api, course, data.bad_csv())
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["details"] == {
        f"line {error['line']}.{error['field']}": [error["reason"]]
        for error in data.EXPECTED_ERRORS
    }
    assert "line 10.email: Not a valid email address" in body["message"]
    assert members_of(course) == 0 and not Operation.objects.exists()


def test_the_fixed_file_imports_123_members_and_starts_the_sync(api, course):
    response = post_csv(api, course, data.good_csv().encode("utf-8-sig"))  # with a BOM
    assert response.status_code == 202, response.json()
    body = response.json()
    operation = Operation.objects.get(course=course, kind="SYNC_MEMBERS")
    assert body == {
        "counts": {"added": 123, "updated": 0, "unchanged": 0, "absent": 0},
        "sync": {"started": True, "operationId": operation.id, "pending": False, "reason": ""},
    }
    assert response["Location"].endswith(f"/courses/{course.id}/operations")
    assert members_of(course) == 123

    listed = api.get(f"/courses/{course.id}/members").json()
    assert len(listed) == 123
    assert listed[0] | {"id": None, "createdAt": None, "updatedAt": None} == {
        "id": None,
        "name": "Ada Lovelace",
        "email": "ada@example.edu",
        "github": "ada-l",
        "role": "instructor",
        "group": None,
        "githubState": "not_synced",
        "githubDetail": "",
        "waitingUntil": None,
        "createdAt": None,
        "updatedAt": None,
        "removedAt": None,
    }
    assert {m["group"] for m in listed if m["role"] == "student"} == {1, 2, 3, 4}


def test_a_busy_course_saves_the_roster_201_and_says_the_sync_is_pending(api, course):
    Operation.objects.create(course=course, kind=Operation.Kind.VERIFY)
    response = post_csv(api, course, data.good_csv())
    assert response.status_code == 201, response.json()
    sync = response.json()["sync"]
    assert sync["started"] is False and sync["pending"] is True
    assert "busy" in sync["reason"] and "next sync" in sync["reason"]
    assert members_of(course) == 123
    assert response["Location"].endswith(f"/courses/{course.id}/members")


def test_json_list_body(api, course):
    members = [
        {"name": "Ann", "email": "ann@example.edu", "role": "ta"},
        {"name": "Ben", "github": "ben", "group": 2},
    ]
    response = api.post(f"/courses/{course.id}/members", members, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["counts"]["added"] == 2
    response = api.post(
        f"/courses/{course.id}/members?dryRun=true",
        {"members": [{"name": "Cy", "email": "cy@example.edu", "group": "7"}]},
        format="json",
    )
    assert response.json()["errors"] == [
        {"line": 1, "field": "group", "reason": "No lab group 7 in this course: one of 1, 2, 3, 4."}
    ]


def test_idempotency_key_replays_the_import(api, course):
    # A dry run keeps no key: the same key then imports for real.
    dry = post_csv(api, course, data.good_csv(), "?dryRun=true", HTTP_IDEMPOTENCY_KEY="roster-1")
    assert dry.status_code == 200 and members_of(course) == 0
    first = post_csv(api, course, data.good_csv(), HTTP_IDEMPOTENCY_KEY="roster-1")
    again = post_csv(api, course, data.good_csv(), HTTP_IDEMPOTENCY_KEY="roster-1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Operation.objects.filter(kind="SYNC_MEMBERS").count() == 1


@pytest.mark.parametrize(
    ("body", "content_type", "field", "contains"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00garbage", "text/csv", "body", "workbook"),
        (b"\xff\xfe\x00n\x00a", "text/csv", "body", "not UTF-8"),
        (b"what,ever\n1,2\n", "text/csv", "body", "first line must be the header"),
        (b"name,email\n", "text/csv", "body", "holds no member"),
        (b'{"name": "Ann"}', "application/json", "body", "JSON list of members"),
        (b"[1, 2]", "application/json", "1.row", "JSON object"),
        (b"{not json", "application/json", "body", "JSON parse error"),
    ],
)
def test_garbage_bodies_are_400_not_500(api, course, body, content_type, field, contains):
    response = api.generic("POST", f"/courses/{course.id}/members", body, content_type=content_type)
    assert response.status_code == 400, response.content
    details = response.json()["details"]
    key = next(k for k in details if k.endswith(field))
    assert contains in " ".join(details[key])
    assert members_of(course) == 0


def test_wrong_content_type_and_bad_options(api, course):
    for content_type in ("application/xml", "application/x-www-form-urlencoded"):
        response = api.generic("POST", f"/courses/{course.id}/members", "x", content_type)
        assert response.status_code == 415, content_type
    response = post_csv(api, course, data.good_csv(), "?dryRun=maybe")
    assert response.status_code == 400 and "dryRun" in response.json()["details"]
    response = api.get(f"/courses/{course.id}/members?removed=perhaps")
    assert response.status_code == 400 and "removed" in response.json()["details"]


def test_unknown_course_and_member_are_404(api, course):
    missing = "00000000-0000-4000-8000-000000000000"
    for method, path in [
        ("get", f"/courses/{missing}/members"),
        ("post", f"/courses/{missing}/members/sync"),
        ("get", f"/courses/{missing}/invites"),
        ("get", f"/courses/{missing}/links.csv"),
        ("delete", f"/courses/{missing}/members/{missing}"),
        ("delete", f"/courses/{course.id}/members/{missing}"),
        ("get", "/courses/not-a-uuid/members"),
    ]:
        response = getattr(api, method)(path)
        assert response.status_code == 404, (method, path)
        assert response.json()["statusCode"] == 404
    response = api.generic("POST", f"/courses/{missing}/members", "x", content_type="text/csv")
    assert response.status_code == 404


def test_remove_a_member_then_again(api, course):
    post_csv(api, course, f"{data.HEADER}\nAnn,ann@example.edu,ann,student,1\n")
    Operation.objects.all().delete()
    Course.objects.filter(id=course.id).update(status=Course.Status.COMPLETED)
    ann = CourseMember.objects.get()
    response = api.delete(f"/courses/{course.id}/members/{ann.id}")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["member"]["removedAt"] and body["sync"]["started"] is True
    assert api.delete(f"/courses/{course.id}/members/{ann.id}").status_code == 204
    assert api.get(f"/courses/{course.id}/members").json() == []
    [removed] = api.get(f"/courses/{course.id}/members?removed=true").json()
    assert removed["id"] == str(ann.id) and removed["removedAt"]


def test_remove_while_busy_is_200_with_the_pending_sync(api, course):
    post_csv(api, course, f"{data.HEADER}\nAnn,ann@example.edu,ann,student,1\n")
    ann = CourseMember.objects.get()  # the import's sync is still PENDING: the course is busy
    response = api.delete(f"/courses/{course.id}/members/{ann.id}")
    assert response.status_code == 200
    assert response.json()["sync"]["pending"] is True


def test_sync_202_then_409_while_it_runs(api, course):
    response = api.post(f"/courses/{course.id}/members/sync")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "SYNC_MEMBERS" and body["status"] == "PENDING"
    assert [step["stepName"] for step in body["steps"]] == [
        "SYNC_STAFF_ROLE",
        "SYNC_INVITE_LINKS",
        "SYNC_GITHUB_TEAMS",
        "SYNC_GITHUB_MEMBERS",
    ]
    response = api.post(f"/courses/{course.id}/members/sync")
    assert response.status_code == 409 and "busy" in response.json()["message"]
    failed = data.laboratory(name="Failed", status=Course.Status.FAILED)
    assert api.post(f"/courses/{failed.id}/members/sync").status_code == 409


def test_invites_and_the_link_sheet(api, course):
    post_csv(api, course, data.good_csv())
    made = data.links_made(course)
    invites = api.get(f"/courses/{course.id}/invites").json()
    assert {invite["key"]: (invite["group"], invite["url"]) for invite in invites} == {
        **{f"group-{n}": (n, made[f"invite:group-{n}"]) for n in range(1, 5)},
        "staff": (None, made["invite:staff"]),
    }
    response = api.get(f"/courses/{course.id}/links.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("name,email,github,role,group,invite,repository")
    assert len(lines) == 124
    assert lines[1].startswith(
        f"Ada Lovelace,ada@example.edu,ada-l,instructor,,{made['invite:staff']},"
    )


def test_a_key_sees_only_its_own_courses_roster(own_key, client_for, course):
    own = client_for(own_key.raw)
    assert own.get(f"/courses/{course.id}/members").status_code == 404
    assert post_csv(own, course, data.good_csv()).status_code == 404
    assert members_of(course) == 0


def test_staff_sessions_need_the_course_permissions(make_user, course):
    viewer = APIClient()
    viewer.force_login(make_user("viewer", "courses.view_course"))
    assert viewer.get(f"/courses/{course.id}/members").status_code == 200
    assert viewer.get(f"/courses/{course.id}/links.csv").status_code == 200
    response = post_csv(viewer, course, data.good_csv())
    assert response.status_code == 403
    assert "courses.change_course" in response.json()["message"]
    editor = APIClient()
    editor.force_login(make_user("editor", "courses.view_course", "courses.change_course"))
    response = post_csv(editor, course, data.good_csv())
    assert response.status_code == 202
    assert Operation.objects.get(kind="SYNC_MEMBERS").requested_by_user.username == "editor"


def test_schema_documents_the_roster_endpoints(api):
    schema = json.loads(api.get("/api/schema?format=json").content)
    post = schema["paths"]["/courses/{id}/members"]["post"]
    assert {"text/csv", "application/json"} <= set(post["requestBody"]["content"])
    assert {"200", "201", "202", "400", "404", "409"} <= set(post["responses"])
    links = schema["paths"]["/courses/{id}/links.csv"]["get"]
    assert "text/csv" in links["responses"]["200"]["content"]
