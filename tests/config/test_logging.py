"""Structured logs carry the course, step, task and request they were written for."""

from __future__ import annotations

import json
import logging

import pytest
from django.utils.module_loading import import_string

from audit.context import audit_scope
from audit.log_filter import ContextFilter
from config.logging import JsonFormatter, logging_config, request_id


def render(record: logging.LogRecord) -> dict:
    ContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_json_line_carries_the_audit_context_and_extras():
    token = request_id.set("req-1")
    try:
        with audit_scope(course_id="c-1", step="SEED_GITHUB_CONTENT", attempt=2, task_id="t-9"):
            record = logging.makeLogRecord(
                {
                    "name": "provisioning",
                    "levelname": "WARNING",
                    "msg": "hello %s",
                    "args": ("world",),
                    "event": "rate_limited",
                }
            )
            line = render(record)
    finally:
        request_id.reset(token)
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert (line["course_id"], line["step"], line["attempt"], line["task_id"]) == (
        "c-1",
        "SEED_GITHUB_CONTENT",
        2,
        "t-9",
    )
    assert line["request_id"] == "req-1"
    assert line["event"] == "rate_limited"


def test_production_logs_json_and_development_plain_text():
    assert logging_config(json_lines=True, level="INFO")["handlers"]["console"]["formatter"] == (
        "json"
    )
    assert logging_config(json_lines=False, level="INFO")["handlers"]["console"]["formatter"] == (
        "plain"
    )


def test_the_logging_setting_names_the_context_filter_by_its_path():
    # Settings import no app: the filter is referenced by dotted path, which must resolve.
    path = logging_config(json_lines=True, level="INFO")["filters"]["context"]["()"]
    assert import_string(path) is ContextFilter


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    given = client.get("/admin/login/", HTTP_X_REQUEST_ID="abc-123")
    made = client.get("/admin/login/")
    assert given["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "status"), [("/courses", 401), ("/courses/nope/x", 404)])
def test_django_request_lines_of_4xx_carry_the_request_id(client, caplog, path, status):
    # Django logs these after the middleware returned (and reset the context variable).
    caplog.set_level(logging.WARNING, logger="django.request")

    response = client.get(path, HTTP_X_REQUEST_ID="req-4xx")

    assert response.status_code == status
    lines = [render(record) for record in caplog.records if record.name == "django.request"]
    assert lines, "django.request logged nothing"
    assert all(line["request_id"] == "req-4xx" for line in lines), lines


@pytest.mark.django_db
def test_django_request_lines_of_5xx_carry_the_request_id(client, caplog, monkeypatch):
    def broken(self: object, request: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.health.HealthView.get", broken)
    caplog.set_level(logging.ERROR, logger="django.request")
    client.raise_request_exception = False

    response = client.get("/health", HTTP_X_REQUEST_ID="req-5xx")

    assert response.status_code == 500
    lines = [render(record) for record in caplog.records if record.name == "django.request"]
    assert lines, "django.request logged nothing"
    assert all(line["request_id"] == "req-5xx" for line in lines), lines


@pytest.mark.django_db
def test_a_request_id_that_is_not_visible_ascii_is_replaced(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="evil\x1b[31m")

    assert response["X-Request-ID"] != "evil\x1b[31m"
    assert len(response["X-Request-ID"]) == 32
