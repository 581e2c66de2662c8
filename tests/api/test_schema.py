"""The OpenAPI schema generates with no warning, documents every operation, and /api/docs works
offline (Swagger UI from drf-spectacular-sidecar, served by the project)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management import call_command

from tests.admin_users import grant

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/courses"),
    ("post", "/courses"),
    ("get", "/courses/{id}"),
    ("get", "/courses/{id}/status"),
    ("post", "/courses/{id}/retry"),
    ("get", "/courses/{id}/resources"),
    ("get", "/courses/{id}/audit"),
    ("get", "/health"),
    ("post", "/imports"),
    ("get", "/imports"),
    ("get", "/imports/{id}"),
    ("patch", "/courses/{id}"),
    ("delete", "/courses/{id}"),
    ("post", "/courses/{id}/lab-groups"),
    ("get", "/courses/{id}/operations"),
    ("post", "/courses/{id}/verify"),
    ("post", "/courses/{id}/archive"),
    ("post", "/courses/{id}/unarchive"),
    ("post", "/semesters/{semester}/archive"),
    ("post", "/courses/{id}/repair"),
    ("get", "/courses/{id}/drift"),
    ("get", "/courses/{id}/members"),
    ("post", "/courses/{id}/members"),
    ("delete", "/courses/{id}/members/{memberId}"),
    ("post", "/courses/{id}/members/sync"),
    ("get", "/courses/{id}/invites"),
    ("get", "/courses/{id}/links.csv"),
    ("post", "/webhooks"),
    ("get", "/webhooks"),
    ("get", "/webhooks/{id}"),
    ("delete", "/webhooks/{id}"),
    ("get", "/webhooks/{id}/deliveries"),
}


def test_schema_generates_and_validates_without_warnings(tmp_path):
    out, err = StringIO(), StringIO()

    # --fail-on-warn makes any warning (unresolvable type, enum collision...) an error.
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        stdout=out,
        stderr=err,
    )

    assert "Warning" not in err.getvalue() and "Error" not in err.getvalue(), err.getvalue()
    schema = yaml.safe_load((tmp_path / "schema.yaml").read_text())
    operations = {(m, p) for p, item in schema["paths"].items() for m in item}
    assert operations == OPERATIONS


def test_schema_is_served_without_a_key(anonymous):
    response = anonymous.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": schema["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    create = schema["paths"]["/courses"]["post"]
    assert {"202", "400", "401", "409", "413", "415", "422", "429"} <= set(create["responses"])
    assert "Location" in create["responses"]["202"]["headers"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    body = schema["components"]["schemas"]["CourseCreateInput"]
    assert body["additionalProperties"] is False
    snowflake = re.compile(body["properties"]["discordGuildId"]["pattern"])
    assert snowflake.match(str(2**64 - 1)) and snowflake.match("1" * 17)  # what the service takes
    assert not snowflake.match(str(2**64)) and not snowflake.match("1" * 16)
    assert schema["paths"]["/health"]["get"]["security"] == [{}]


def test_docs_use_the_bundled_swagger_ui_not_a_cdn(client):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)

    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert all(a.startswith("/static/") for a in assets if "swagger" in a), assets
    assert "cdn" not in html.lower()
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), asset
    # The UI sends the admin session's CSRF token with its requests, so staff can call the API.
    assert 'request.headers["X-CSRFTOKEN"]' in html


def test_staff_can_call_the_api_as_the_docs_page_does(client):
    # What Swagger UI does from /api/docs: the session cookie plus the page's CSRF token.
    from rest_framework.test import APIClient

    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    grant(staff, "courses.add_course")  # the admin's permission to add courses, as in the admin
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(staff)
    html = browser.get("/api/docs").content.decode()
    token = re.search(r'request.headers\["X-CSRFTOKEN"\] = "([^"]+)"', html).group(1)

    response = browser.post(
        "/courses",
        {"name": "From the docs", "semester": "2026-fall", "type": "LECTURE"},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 202, response.json()
