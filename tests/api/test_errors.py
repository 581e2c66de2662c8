"""One error shape everywhere under the API's paths, including Django's own 404 and 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/courses/", "/courses/123/nothing", "/api/nothing", "/health/extra", "/api/"]
)
def test_unknown_api_paths_are_json_404(api, path):
    assert_error(api.get(path), 404, contains=path)


def test_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page():
    browser = Client(enforce_csrf_checks=True)

    assert_error(browser.post("/courses/%C2%84/retry"), 404)


def test_unknown_api_path_is_json_even_with_debug(api, settings):
    settings.DEBUG = True

    assert_error(api.get("/courses/x/y"), 404)


def test_other_paths_keep_django_pages(client):
    response = client.get("/not-an-api-path")

    assert response.status_code == 404
    assert "json" not in response["Content-Type"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", "/courses", "GET, POST, HEAD, OPTIONS"),
        (
            "put",
            "/courses/00000000-0000-0000-0000-000000000000",
            "GET, PATCH, DELETE, HEAD, OPTIONS",
        ),
        ("post", "/courses/00000000-0000-0000-0000-000000000000/status", "GET, HEAD, OPTIONS"),
        ("post", "/health", "GET, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_is_405_with_allow(api, method, path, allow):
    response = getattr(api, method)(path)

    assert_error(response, 405, contains=method.upper())
    assert response["Allow"] == allow


def test_not_acceptable_is_406(api):
    assert_error(api.get("/courses", HTTP_ACCEPT="text/html"), 406)


def test_a_bug_in_a_view_is_a_json_500_and_logged(api, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("boom: internal detail")

    monkeypatch.setattr("courses.api.views.course_list", broken)

    body = assert_error(api.get("/courses"), 500, contains="unexpected error")

    assert "boom" not in body["message"]
    assert "boom: internal detail" in caplog.text


def test_django_500_handler_answers_json_for_api_paths(rf):
    from api.views import server_error

    request = rf.get("/courses")

    response = server_error(request)

    assert response.status_code == 500
    assert json.loads(response.content)["statusCode"] == 500
    assert server_error(rf.get("/admin/")).status_code == 500  # Django's page elsewhere


def test_django_400_handler_answers_json_for_api_paths(settings):
    # A Host header not in ALLOWED_HOSTS is refused by Django before any view runs.
    response = Client().get("/courses", HTTP_HOST="evil.example")

    assert_error(response, 400)
