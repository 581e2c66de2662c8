"""/webhooks: register (secret once), list, read, delete, deliveries; a key sees its own only;
seed 001's one-off webhookUrl on POST /courses."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import assert_error, lecture_body
from tests.webhooks.receiver import Receiver
from webhooks.models import WebhookEndpoint
from webhooks.signing import HEADER, webhook_signature


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_BLOCK_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    running = Receiver().start()
    yield running
    running.stop()


def test_register_list_read_delete(client_for, own_key, api_key, receiver):
    mine = client_for(own_key.raw)
    created = mine.post(
        "/webhooks", {"url": receiver.url, "events": ["course.completed"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["course.completed"]
    assert body["courseId"] is None
    hook_id = body["id"]

    listed = mine.get("/webhooks").json()
    assert [h["id"] for h in listed["results"]] == [hook_id]
    assert "secret" not in listed["results"][0]  # shown once
    assert "secret" not in mine.get(f"/webhooks/{hook_id}").json()

    # Another plain key sees nothing of it; an admin key sees it.
    other = client_for(api_key.raw)
    assert hook_id in [h["id"] for h in other.get("/webhooks").json()["results"]]

    assert mine.delete(f"/webhooks/{hook_id}").status_code == 204
    assert_error(mine.get(f"/webhooks/{hook_id}"), 404)
    assert not WebhookEndpoint.objects.exists()


def test_a_key_sees_only_its_own(client_for, own_key, receiver, db):
    from api.services import api_key_create

    _, stranger_raw = api_key_create(name="Stranger")
    stranger = client_for(stranger_raw)
    hook = stranger.post(
        "/webhooks", {"url": receiver.url, "events": ["course.failed"]}, format="json"
    ).json()
    mine = client_for(own_key.raw)
    assert mine.get("/webhooks").json()["results"] == []
    assert_error(mine.get(f"/webhooks/{hook['id']}"), 404)
    assert_error(mine.get(f"/webhooks/{hook['id']}/deliveries"), 404)
    assert_error(mine.delete(f"/webhooks/{hook['id']}"), 404)
    assert WebhookEndpoint.objects.filter(id=hook["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://10.0.0.5/hook", "events": ["course.completed"]}, "url"),
        ({"url": "http://127.0.0.1:1/x", "events": ["course.completed"]}, None),
        ({"url": "https://example.com/hook", "events": ["course.exploded"]}, "events.0"),
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"url": "https://example.com/hook"}, "events"),
        ({"url": "https://example.com/hook", "events": ["course.completed"], "x": 1}, "x"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, settings, body, field):
    settings.WEBHOOK_BLOCK_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOWED_HOSTS = []
    response = api.post("/webhooks", body, format="json")
    if field is None:  # loopback, not allowed
        field = "url"
    details = assert_error(response, 400)["details"]
    assert field in details, details


def test_webhook_url_on_post_courses_gets_the_course_event(
    client_for, own_key, receiver, platforms, django_capture_on_commit_callbacks
):
    platforms.add_servers(1)
    mine = client_for(own_key.raw)
    with django_capture_on_commit_callbacks(execute=True):
        response = mine.post("/courses", lecture_body(webhookUrl=receiver.url), format="json")
    assert response.status_code == 202, response.json()
    course = response.json()
    secret = course["webhookSecret"]

    (delivery,) = receiver.received
    event = json.loads(delivery["body"])
    assert event["type"] == "course.completed" and event["data"]["courseId"] == course["id"]
    header = delivery["headers"][HEADER]
    t = int(header.split(",")[0][2:])
    assert header == webhook_signature(secret=secret, body=delivery["body"], timestamp=t)

    # The course's endpoint is the key's, listed with its course, with the delivery readable.
    (hook,) = mine.get("/webhooks").json()["results"]
    assert hook["courseId"] == course["id"]
    deliveries = mine.get(f"/webhooks/{hook['id']}/deliveries").json()["results"]
    assert [(d["eventType"], d["status"], d["attempts"]) for d in deliveries] == [
        ("course.completed", "SUCCEEDED", 1)
    ]
    assert deliveries[0]["tries"][0]["responseStatus"] == 200


def test_a_refused_webhook_url_creates_no_course(api, settings):
    settings.WEBHOOK_BLOCK_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOWED_HOSTS = []
    body = lecture_body(webhookUrl="http://192.168.1.1/hook")
    details = assert_error(api.post("/courses", body, format="json"), 400)["details"]
    assert "webhookUrl" in details
    assert api.get("/courses").json()["count"] == 0
