"""Limits on API callers: request throttling per API key (api.throttles, a rate limit), and the
cap on each key's active courses (courses.api.caps, not a rate limit); both 429 with Retry-After
and a message naming the limit."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache

from api.services import api_key_create
from audit.models import SystemEvent
from courses.models import Course
from provisioning.models import Operation
from tests.api.helpers import assert_error, lecture_body

pytestmark = pytest.mark.django_db


def test_throttle_is_per_api_key(api, client_for, settings):
    settings.API_THROTTLE_RATE = "3/min"
    _, other_raw = api_key_create(name="Other")

    for _ in range(3):
        assert api.get("/courses").status_code == 200
    response = api.get("/courses")

    body = assert_error(response, 429, contains="Request rate limit exceeded (3/min per API key)")
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Retry-After"] in body["message"]
    assert client_for(other_raw).get("/courses").status_code == 200


def test_throttle_counts_writes_too(api, settings):
    settings.API_THROTTLE_RATE = "1/min"
    assert api.post("/courses", lecture_body(), format="json").status_code == 202

    assert_error(api.post("/courses", lecture_body(), format="json"), 429)
    assert Course.objects.count() == 1


def test_health_is_never_throttled(anonymous, settings):
    settings.API_THROTTLE_RATE = "1/min"

    assert all(anonymous.get("/health").status_code == 200 for _ in range(3))


def test_empty_rate_switches_throttling_off(api, settings):
    settings.API_THROTTLE_RATE = ""

    assert all(api.get("/courses").status_code == 200 for _ in range(5))


def test_active_courses_cap_per_key(api, api_key, client_for, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 2
    for _ in range(2):
        assert api.post("/courses", lecture_body(), format="json").status_code == 202

    response = api.post("/courses", lecture_body(name="Third"), format="json")

    body = assert_error(response, 429, contains="Active courses limit reached")
    assert "at most 2" in body["message"] and "API_MAX_ACTIVE_COURSES_PER_KEY" in body["message"]
    assert response["Retry-After"] == str(settings.API_ACTIVE_COURSES_RETRY_AFTER)
    assert not Course.objects.filter(name="Third").exists()
    event = SystemEvent.objects.get(kind=SystemEvent.Kind.CONCURRENCY_LIMIT)
    assert "Active courses limit reached" in event.message  # kept, though the create rolled back
    # Another key has its own cap.
    _, other_raw = api_key_create(name="Other")
    assert client_for(other_raw).post("/courses", lecture_body(), format="json").status_code == 202


def test_finished_courses_free_the_cap(api, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1
    api.post("/courses", lecture_body(), format="json")
    assert api.post("/courses", lecture_body(), format="json").status_code == 429

    Course.objects.update(status=Course.Status.FAILED)

    assert api.post("/courses", lecture_body(), format="json").status_code == 202


def test_courses_made_outside_the_api_do_not_count(api, settings, provision):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1
    Course.objects.create(name="Admin-made", semester="2026-fall", type="LECTURE")

    assert api.post("/courses", lecture_body(), format="json").status_code == 202


def test_zero_switches_the_cap_off(api, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 0

    assert all(
        api.post("/courses", lecture_body(), format="json").status_code == 202 for _ in range(3)
    )


def test_validation_comes_before_the_cap(api, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1
    api.post("/courses", lecture_body(), format="json")

    assert_error(api.post("/courses", lecture_body(name=""), format="json"), 400)


def test_throttle_counts_in_redis_when_workers_share_one(api, settings, monkeypatch):
    # RATE_LIMIT_REDIS_URL (the broker's Redis by default) makes the rate hold across processes.
    from api import throttles

    shared = LocMemCache("api-throttle-test", {})  # a stand-in for the RedisCache
    monkeypatch.setattr(throttles, "_redis_cache", lambda url: shared)
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:6379/9"
    settings.API_THROTTLE_RATE = "2/min"

    assert [api.get("/courses").status_code for _ in range(3)] == [200, 200, 429]
    assert any(key.startswith(":1:throttle_api_key_key-") for key in shared._cache)


def test_throttle_store_down_counts_in_process(api, settings, monkeypatch, caplog):
    # No longer "let everything through": see test_abuse.py for the warning event.
    from api import throttles

    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("redis is down")

    throttles.FALLBACK.clear()
    monkeypatch.setattr(throttles, "throttle_cache", lambda: Down())
    settings.API_THROTTLE_RATE = "1/min"

    assert [api.get("/courses").status_code for _ in range(2)] == [200, 429]
    assert "counting in-process" in caplog.text


def test_a_course_busy_with_a_later_operation_does_not_count(api, settings):
    """The daily verify makes a provisioned course PENDING for a moment: its owner must not get
    a surprise 429 on its next create because of it."""
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1
    api.post("/courses", lecture_body(), format="json")
    course = Course.objects.get()
    course.operations.update(status=Operation.Status.COMPLETED)
    Operation.objects.create(course=course, kind=Operation.Kind.VERIFY)
    Course.objects.update(status=Course.Status.PENDING)

    assert api.post("/courses", lecture_body(name="Second"), format="json").status_code == 202
    assert api.post("/courses", lecture_body(name="Third"), format="json").status_code == 429
