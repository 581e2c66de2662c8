"""Schemathesis against /api/schema: every operation, generated valid and invalid requests, no
5xx and no response that contradicts the schema (status codes, content types, headers, bodies)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.services import api_key_create
from audit.models import AuditLog
from courses.models import Course
from provisioning.models import ExternalResource
from provisioning.services import provisioning_plan
from tests.factories import CourseFactory, LabGroupFactory


@pytest.fixture
def wsgi_app(db) -> Iterator[object]:
    """The real WSGI application, minus closing the database connection after each request:
    the test's transaction lives on that connection (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app, settings):
    settings.API_THROTTLE_RATE = ""
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 0
    return schemathesis.openapi.from_wsgi("/api/schema", wsgi_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def raw_key(db) -> str:
    return api_key_create(name="schemathesis")[1]


@pytest.fixture
def failed_course(db) -> Course:
    """A laboratory that failed half-way: steps, resources (confirmed and intended) and audit
    rows, so that every read answers with data to check against the schema, and retry can 202."""
    course = CourseFactory.create(
        type=Course.Type.LABORATORY, status=Course.Status.FAILED, discord_guild_id=""
    )
    group = LabGroupFactory.create(course=course, number=1)
    steps = provisioning_plan(course=course)
    for step in steps[:3]:
        step.status = "COMPLETED"
        step.attempts = 1
        step.save()
    steps[3].status, steps[3].last_error, steps[3].attempts = "FAILED", "GitHub said 403", 1
    steps[3].save()
    ExternalResource.objects.create(
        course=course,
        provider="github",
        kind="repository",
        key="lab-1",
        lab_group=group,
        external_id="42",
        url="https://github.example/org/lab-1",
        state="confirmed",
    )
    ExternalResource.objects.create(course=course, provider="discord", kind="role", key="g1")
    for status in (201, None):
        AuditLog.objects.create(
            provider="github",
            method="POST",
            route="/orgs/{org}/repos",
            url="https://github.example/orgs/org/repos",
            request_body={"name": "lab-1", "token": "[redacted]"},
            response_status=status,
            course=course,
            step="CREATE_GROUP_REPOS",
            attempt=1,
        )
    return course


# Business rules the schema cannot state (a name unique per semester, a Discord server used once,
# lab groups required for a laboratory only) make some schema-valid bodies a 400 or 409 by design.
NOT_CHECKED = [positive_data_acceptance]


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@schema.parametrize()
# Bounded (20 examples per operation and phase, well under a minute in all) and derandomized:
# the same requests in every run, so a CI failure reproduces locally.
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api(case, raw_key, failed_course):
    course_id = case.path_parameters.get("id")
    if _is_uuid(course_id) and str(course_id)[0] in "01234567":
        # Half the well-formed ids become an existing course's: reads answer 200, not only 404.
        case.path_parameters = {**case.path_parameters, "id": str(failed_course.id)}
    case.call_and_validate(headers={"x-api-key": raw_key}, excluded_checks=NOT_CHECKED)
