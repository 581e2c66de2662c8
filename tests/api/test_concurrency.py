"""Concurrent requests: one Idempotency-Key creates one course, and a key's active-course cap holds
when its creates race (the key's row is locked while counting)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from api.services import api_key_create
from courses.models import Course
from tests.api.helpers import lecture_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_provisioning(monkeypatch):
    """Courses stay PENDING: with real commits the eager task would run (and end) in the request."""
    monkeypatch.setattr("courses.services.provisioning_enqueue", lambda course: None)


def race(count: int, request: Callable[[int], Any]) -> list[Any]:
    """Run ``request(i)`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = request(index)
        finally:
            connections.close_all()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_same_idempotency_key_at_once_creates_one_course():
    _, raw = api_key_create(name="racer")
    body = lecture_body()

    def create(_: int) -> tuple[int, str]:
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        response = client.post("/courses", body, format="json", HTTP_IDEMPOTENCY_KEY="once")
        return response.status_code, response.json().get("id", response.json().get("message"))

    results = race(4, create)

    assert Course.objects.count() == 1
    course_id = str(Course.objects.get().id)
    # Every request got the course, except (SQLite only) one that found the first in flight.
    accepted = [r for r in results if r[0] == 202]
    assert accepted and all(r[1] == course_id for r in accepted), results
    assert all(r[0] in (202, 409) for r in results), results
    if connection.vendor == "postgresql":
        assert len(accepted) == 4, results


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no row locks (select_for_update is a no-op); CI runs this on PostgreSQL",
)
def test_racing_creates_cannot_overshoot_the_cap(settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 2
    _, raw = api_key_create(name="racer")

    def create(index: int) -> int:
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        return client.post("/courses", lecture_body(), format="json").status_code

    results = race(6, create)

    assert sorted(results) == [202, 202, 429, 429, 429, 429]
    assert Course.objects.count() == 2
