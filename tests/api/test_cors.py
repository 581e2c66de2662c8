"""CORS: off by default; named origins get a preflight answer, others none; never the admin."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ORIGIN = "https://lms.example.edu"


def _preflight(path: str = "/courses", origin: str = ORIGIN):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, content-type, idempotency-key",
    )


def test_off_by_default(settings):
    assert settings.CORS_ALLOWED_ORIGINS == []
    assert "access-control-allow-origin" not in _preflight().headers


def test_preflight_from_a_named_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = _preflight()
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert {"x-api-key", "content-type", "idempotency-key"} <= set(allowed.split(", "))
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_other_origins_and_the_admin_get_nothing(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    assert "access-control-allow-origin" not in _preflight(origin="https://evil.example").headers
    assert "access-control-allow-origin" not in _preflight("/admin/login/").headers


def test_a_simple_request_exposes_location(settings, api_key):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = Client().get("/courses", HTTP_ORIGIN=ORIGIN, HTTP_X_API_KEY=api_key.raw)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Location" in response["Access-Control-Expose-Headers"]
