"""Idempotency-Key: the same key and body replay the first response and create nothing; the same
key with another body is a 422; keys are per API key; failures are not remembered."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import IdempotencyRecord
from api.services import api_key_create
from courses.models import Course
from tests.api.helpers import assert_error, laboratory_body, lecture_body

pytestmark = pytest.mark.django_db


def post(client, body, key, path="/courses"):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_same_body_replays_the_first_response(api):
    body = laboratory_body()

    first = post(api, body, "create-os-lab")
    second = post(api, body, "create-os-lab")

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Course.objects.count() == 1


def test_same_body_with_other_key_order_and_spacing_is_the_same_request(api):
    body = lecture_body()
    post(api, body, "k1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    replay = api.post(
        "/courses", reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    assert replay.status_code == 202
    assert replay["Idempotent-Replayed"] == "true"
    assert Course.objects.count() == 1


def test_same_key_different_body_is_422(api):
    post(api, lecture_body(name="First"), "shared-key")

    response = post(api, lecture_body(name="Second"), "shared-key")

    assert_error(response, 422, contains="different request")
    assert list(Course.objects.values_list("name", flat=True)) == ["First"]


def test_same_key_on_another_endpoint_is_422(api):
    created = post(api, lecture_body(), "k").json()

    response = post(api, {}, "k", path=f"/courses/{created['id']}/retry")

    assert_error(response, 422)


def test_keys_belong_to_one_api_key(api, client_for):
    _, other_raw = api_key_create(name="Other LMS")
    other = client_for(other_raw)

    mine = post(api, lecture_body(name="Mine"), "same-words")
    theirs = post(other, lecture_body(name="Theirs"), "same-words")

    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    assert Course.objects.count() == 2


def test_an_error_is_not_remembered_so_the_key_can_be_used_again(api):
    invalid = post(api, lecture_body(name=""), "try-again")
    assert invalid.status_code == 400

    valid = post(api, lecture_body(name=""), "try-again")  # still invalid: evaluated again
    assert valid.status_code == 400
    assert not IdempotencyRecord.objects.exists()

    fixed = post(api, lecture_body(name="Fixed"), "try-again")
    assert fixed.status_code == 202


def test_a_409_is_not_remembered(api):
    post(api, lecture_body(name="Twice"), "first")

    duplicate = post(api, lecture_body(name="Twice"), "second")

    assert_error(duplicate, 409)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["first"]


def test_retry_replays_and_does_not_queue_again(api, monkeypatch):
    course = Course.objects.create(name="R", semester="s", type="LECTURE", status="FAILED")
    course.steps.create(name="SETUP_DISCORD_SERVER", order=1, status="FAILED")
    queued = []
    monkeypatch.setattr(
        "provisioning.services.provisioning_enqueue", lambda course: queued.append(course.id)
    )

    first = post(api, None, "retry-1", path=f"/courses/{course.id}/retry")
    second = post(api, None, "retry-1", path=f"/courses/{course.id}/retry")

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert queued == [course.id]


def test_an_expired_key_runs_again(api, settings):
    post(api, lecture_body(name="Old"), "old-key")
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS + 1)
    )

    response = post(api, lecture_body(name="New"), "old-key")

    assert response.status_code == 202
    assert "Idempotent-Replayed" not in response
    assert Course.objects.count() == 2


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "é"])
def test_malformed_idempotency_key_is_400(api, key):
    details = assert_error(post(api, lecture_body(), key), 400)["details"]

    assert "Idempotency-Key" in details
    assert not Course.objects.exists()


def test_a_replay_is_served_even_at_the_active_courses_cap(api, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 1
    body = lecture_body()
    post(api, body, "at-cap")

    assert post(api, body, "at-cap").status_code == 202
    assert post(api, lecture_body(), "new").status_code == 429
