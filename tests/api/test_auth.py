"""x-api-key: keys stored hashed, made by the command or the admin, revocable; API_KEY bootstrap;
staff sessions for /api/docs; every refusal a 401 in the error shape."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from api.models import ApiKey
from api.services import api_key_revoke
from tests.admin_users import grant
from tests.api.helpers import assert_error, lecture_body

pytestmark = pytest.mark.django_db


def test_missing_key_is_401_saying_which_header(anonymous):
    response = anonymous.get("/courses")

    assert_error(response, 401, contains="x-api-key")
    assert response["WWW-Authenticate"] == 'ApiKey header="x-api-key"'


@pytest.mark.parametrize("path", ["/courses", "/courses/00000000-0000-0000-0000-000000000000"])
def test_wrong_key_is_401(client_for, api_key, path):
    response = client_for(api_key.raw + "x").get(path)

    assert_error(response, 401, contains="Invalid API key")


def test_wrong_key_cannot_create(client_for, api_key):
    response = client_for("nope").post("/courses", lecture_body(), format="json")

    assert_error(response, 401)


def test_valid_key_is_accepted_and_its_use_recorded(api, api_key):
    assert api.get("/courses").status_code == 200
    api_key.model.refresh_from_db()
    assert api_key.model.last_used_at is not None


def test_key_is_stored_as_its_sha256_only(api_key):
    row = ApiKey.objects.get(pk=api_key.model.pk)
    assert row.hashed_key == hashlib.sha256(api_key.raw.encode()).hexdigest()
    assert api_key.raw not in {row.name, row.prefix, row.hashed_key}
    assert api_key.raw.startswith(row.prefix)


def test_revoked_key_is_refused_at_once(api, api_key):
    assert api.get("/courses").status_code == 200
    api_key_revoke(api_key=api_key.model)

    assert_error(api.get("/courses"), 401, contains="revoked")


def test_bootstrap_key_from_the_environment(settings, client_for):
    settings.API_KEY = "bootstrap-secret-value"

    response = client_for("bootstrap-secret-value").get("/courses")

    assert response.status_code == 200
    bootstrap = ApiKey.objects.get(is_bootstrap=True)
    assert bootstrap.hashed_key == hashlib.sha256(b"bootstrap-secret-value").hexdigest()
    assert client_for("bootstrap-secret-value").get("/courses").status_code == 200
    assert ApiKey.objects.filter(is_bootstrap=True).count() == 1


def test_bootstrap_key_stops_working_when_the_variable_changes(settings, client_for):
    settings.API_KEY = "old-bootstrap-value"
    assert client_for("old-bootstrap-value").get("/courses").status_code == 200

    settings.API_KEY = "new-bootstrap-value"

    assert_error(client_for("old-bootstrap-value").get("/courses"), 401)
    assert client_for("new-bootstrap-value").get("/courses").status_code == 200


def test_bootstrap_key_can_be_revoked_in_the_admin(settings, client_for):
    settings.API_KEY = "bootstrap-secret-value"
    client_for("bootstrap-secret-value").get("/courses")
    api_key_revoke(api_key=ApiKey.objects.get(is_bootstrap=True))

    assert_error(client_for("bootstrap-secret-value").get("/courses"), 401, contains="revoked")


def test_empty_api_key_setting_accepts_no_empty_key(settings, client_for):
    settings.API_KEY = ""

    assert_error(client_for("").get("/courses"), 401)


def test_staff_session_may_call_the_api(client):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    grant(staff, "courses.view_course")  # what the permission tests (test_permissions.py) vary
    client.force_login(staff)

    assert client.get("/courses").status_code == 200


def test_staff_session_posts_need_the_csrf_token(client):
    # As a browser does from /api/docs (the Swagger UI sends the token): no token, no write.
    from rest_framework.test import APIClient

    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(staff)

    response = browser.post("/courses", lecture_body(), format="json")

    assert_error(response, 403, contains="CSRF")


def test_signed_in_non_staff_is_forbidden(client):
    user = get_user_model().objects.create_user("student", password="pw")
    client.force_login(user)

    assert_error(client.get("/courses"), 403, contains="staff")


def test_create_api_key_prints_the_key_alone_on_its_last_line(client_for):
    out, err = StringIO(), StringIO()

    call_command("create_api_key", "Moodle", stdout=out, stderr=err)

    raw_key = out.getvalue().strip().splitlines()[-1]
    assert raw_key.startswith("cpk_") and " " not in raw_key
    assert "shown only now" in err.getvalue()
    key = ApiKey.objects.get(name="Moodle")
    assert key.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert client_for(raw_key).get("/courses").status_code == 200


def test_create_api_key_refuses_a_blank_name():
    with pytest.raises(CommandError, match="1 to 100"):
        call_command("create_api_key", "  ", stdout=StringIO(), stderr=StringIO())


def test_admin_shows_a_new_key_once_and_revokes(admin_client, client_for):
    response = admin_client.post("/admin/api/apikey/add/", {"name": "Canvas"})

    assert response.status_code == 200
    key = ApiKey.objects.get(name="Canvas")
    raw_key = response.context["raw_key"]
    assert raw_key.encode() in response.content and "not be" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert key.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert client_for(raw_key).get("/courses").status_code == 200
    # The change page never shows the secret again.
    change = admin_client.get(f"/admin/api/apikey/{key.pk}/change/")
    assert raw_key.encode() not in change.content

    admin_client.post(
        "/admin/api/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert_error(client_for(raw_key).get("/courses"), 401, contains="revoked")
