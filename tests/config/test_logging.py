"""Structured logs carry the course, step, task and request they were written for."""

from __future__ import annotations

import json
import logging

import pytest

from audit.context import audit_scope
from config.logging import ContextFilter, JsonFormatter, logging_config, request_id


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


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    given = client.get("/admin/login/", HTTP_X_REQUEST_ID="abc-123")
    made = client.get("/admin/login/")
    assert given["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32
