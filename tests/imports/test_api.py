"""POST /imports (CSV or JSON, ?dryRun=true), GET /imports/{id}, GET /imports."""

from __future__ import annotations

import json

import pytest

from courses.models import Course
from imports.models import Import

pytestmark = pytest.mark.django_db

CSV = (
    "name,semester,type,groups,discordGuildId\n"
    "Algorithms,2026-fall,lecture,,\n"
    "Operating Systems,Fall 2026,laboratory,Monday;Thursday,\n"
    "Nothing,2026-fall,seminar,,\n"
)


def post(client, body: str, content_type: str = "text/csv", **params: str):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.generic("POST", f"/imports?{query}", body, content_type=content_type)


def test_dry_run_answers_the_plan_and_creates_nothing(api, platforms):
    platforms.add_servers(1)
    response = post(api, CSV, dryRun="true")
    assert response.status_code == 200
    plan = response.json()
    assert plan["errors"] == [
        {"line": 4, "field": "type", "reason": "Choose one of LECTURE, LABORATORY."}
    ]
    assert [row["semester"] for row in plan["rows"][:2]] == ["2026-fall", "2026-fall"]
    assert (plan["serversNeeded"], plan["serversAvailable"], plan["serversShortfall"]) == (2, 1, 1)
    assert (plan["githubWrites"], plan["discordCalls"]) == (15, 19)
    assert not Course.objects.exists() and not Import.objects.exists()
    assert platforms.requests() == []


def test_apply_creates_and_provisions_the_valid_rows(
    api, platforms, django_capture_on_commit_callbacks
):
    platforms.add_servers(2)
    with django_capture_on_commit_callbacks(execute=True):  # provisioning starts on commit
        response = post(api, CSV, priority="high")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"].endswith(f"/imports/{body['id']}")
    assert body["status"] == "PROVISIONING"
    assert body["counts"]["created"] == 2 and body["counts"]["invalid"] == 1
    assert set(Course.objects.values_list("priority", flat=True)) == {"high"}

    detail = api.get(f"/imports/{body['id']}").json()
    assert detail["status"] == "COMPLETED" and detail["finishedAt"]
    rows = {row["line"]: row for row in detail["rows"]}
    assert rows[4]["outcome"] == "INVALID" and rows[4]["courseId"] is None
    assert rows[4]["errors"] == [{"field": "type", "reason": "Choose one of LECTURE, LABORATORY."}]
    assert rows[2]["courseStatus"] == rows[3]["courseStatus"] == "COMPLETED"
    assert rows[2]["courseUrl"].endswith(f"/courses/{rows[2]['courseId']}")
    listed = api.get("/imports").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]


def test_json_body_same_as_csv(api, platforms):
    platforms.add_servers(1)
    courses = [
        {"name": "Networks", "semester": "2026-fall", "type": "LABORATORY", "groups": ["A", "B"]}
    ]
    response = api.post("/imports?dryRun=true", courses, format="json")
    assert response.status_code == 200
    assert response.json()["githubWrites"] == 10
    response = api.post("/imports", {"courses": courses}, format="json")
    assert response.status_code == 202
    course = Course.objects.get()
    assert [group.name for group in course.lab_groups.all()] == ["A", "B"]


def test_all_or_nothing_creates_nothing_when_a_row_is_bad(api, platforms):
    platforms.add_servers(2)
    response = post(api, CSV, allOrNothing="true")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "REJECTED"
    assert {row["outcome"] for row in body["rows"]} == {"NOT_CREATED", "INVALID"}
    assert not Course.objects.exists()
    assert platforms.requests() == []


@pytest.mark.parametrize(
    ("body", "content_type", "params", "field", "contains"),
    [
        ("nonsense,columns\n1,2\n", "text/csv", {}, "body", "Unknown column"),
        ("name,semester,type\n", "text/csv", {}, "body", "no course"),
        ('{"x": 1}', "application/json", {}, "body", "list of courses"),
        (CSV, "text/csv", {"priority": "urgent"}, "priority", "Choose one of"),
        (CSV, "text/csv", {"dryRun": "maybe"}, "dryRun", ""),
    ],
)
def test_bad_files_and_options_are_400(api, body, content_type, params, field, contains):
    response = post(api, body, content_type, **params)
    assert response.status_code == 400, response.content
    details = response.json()["details"]
    assert field in details and contains in " ".join(details[field])


def test_other_media_types_are_415(api):
    assert post(api, "<xml/>", "application/xml").status_code == 415


def test_a_key_sees_only_its_own_imports(api, own_key, client_for, platforms):
    platforms.add_servers(2)
    mine = post(client_for(own_key.raw), "name,semester,type\nMine,2026-fall,lecture\n").json()
    other = post(api, "name,semester,type\nTheirs,2026-fall,lecture\n").json()
    own = client_for(own_key.raw)
    assert [item["id"] for item in own.get("/imports").json()["results"]] == [mine["id"]]
    assert own.get(f"/imports/{other['id']}").status_code == 404
    assert api.get(f"/imports/{mine['id']}").status_code == 200  # an admin key sees all


def test_a_plain_key_is_held_to_its_active_courses_cap(own_key, client_for, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1  # nothing runs here (no commit): both PENDING
    csv = "name,semester,type\nOne,2026-fall,lecture\nTwo,2026-fall,lecture\n"
    response = post(client_for(own_key.raw), csv)
    assert response.status_code == 429
    assert "Active courses limit" in response.json()["message"]
    assert not Course.objects.exists() and not Import.objects.exists()


def test_schema_documents_the_import_endpoints(api):
    schema = json.loads(api.get("/api/schema?format=json").content)
    assert {"/imports", "/imports/{id}"} <= set(schema["paths"])
    assert "text/csv" in schema["paths"]["/imports"]["post"]["requestBody"]["content"]
