"""Course events reach a registered receiver once, signed; a receiver that was down gets them
when it is back; retries back off and give up after a day."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from api.services import api_key_create
from provisioning.verify import course_verify
from webhooks.delivery import webhooks_deliver_due
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_endpoint_create, webhook_event_emit
from webhooks.signing import HEADER, webhook_signature

pytestmark = pytest.mark.django_db(transaction=True)


def _signature_valid(secret: str, request: dict) -> bool:
    header = request["headers"][HEADER]
    timestamp = int(dict(p.split("=", 1) for p in header.split(","))["t"])
    return header == webhook_signature(secret=secret, body=request["body"], timestamp=timestamp)


def test_one_signed_delivery_per_event(platforms, provision, receiver, loopback_allowed):
    platforms.add_servers(2)
    key, _ = api_key_create(name="LMS")
    other, _ = api_key_create(name="Other")
    endpoint = webhook_endpoint_create(
        url=receiver.url, events=["course.completed", "course.failed"], api_key=key
    )
    webhook_endpoint_create(url=receiver.url + "&other", events=["course.completed"], api_key=other)

    done = provision(name="Algorithms", created_by_key=key)
    failed = provision(name="Compilers", created_by_key=key, discord_guild_id="999999999999999999")

    assert (done.status, failed.status) == ("COMPLETED", "FAILED")
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [(b["type"], b["data"]["courseId"]) for b in bodies] == [
        ("course.completed", str(done.id)),
        ("course.failed", str(failed.id)),
    ]  # exactly one per event, and none for the other key's endpoint (not its courses)
    assert set(bodies[0]) == {"id", "type", "createdAt", "data"}
    assert bodies[1]["data"]["failedStep"] == "SETUP_DISCORD_SERVER"
    assert all(r["path"] == "/hooks?source=test" for r in receiver.received)
    assert all(_signature_valid(endpoint.secret, r) for r in receiver.received)
    assert receiver.received[0]["headers"]["X-Webhook-Event"] == "course.completed"
    assert WebhookDelivery.objects.filter(status="SUCCEEDED").count() == 2
    attempt = WebhookAttempt.objects.first()
    assert attempt.response_status == 200 and attempt.response_excerpt == "thanks"
    # A re-run of a completed course ends nothing: no second event.
    from provisioning.runner import run_course

    run_course(done.id)
    assert len(receiver.received) == 2


def test_receiver_down_then_back_gets_the_event(db, receiver, loopback_allowed):
    receiver.stop()  # down
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)

    webhook_event_emit(type="import.completed", data={"importId": "1"}, api_key=key)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "PENDING" and delivery.attempts == 1
    first = delivery.tries.get()
    assert first.response_status is None and "refused" in first.error.lower()
    assert delivery.next_attempt_at > timezone.now()  # backing off
    assert webhooks_deliver_due() == 0  # not due yet: nothing sent early

    # Still down at the next due time: the wait doubles (base 30 s, then 60 s).
    due = delivery.next_attempt_at
    webhooks_deliver_due(now=due)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert timedelta(seconds=48) <= delivery.next_attempt_at - due <= timedelta(seconds=61)

    receiver.start()  # back
    assert webhooks_deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == "SUCCEEDED" and delivery.attempts == 3
    assert len(receiver.received) == 1
    assert json.loads(receiver.received[0]["body"])["data"] == {"importId": "1"}
    assert webhooks_deliver_due(now=timezone.now() + timedelta(days=2)) == 0  # never again


def test_gives_up_after_the_retry_window(db, receiver, loopback_allowed, settings):
    receiver.status = 500
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    webhook_event_emit(type="import.completed", data={}, api_key=key)
    delivery = WebhookDelivery.objects.get()
    for _ in range(60):
        if delivery.status != "PENDING":
            break
        webhooks_deliver_due(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    assert delivery.status == "FAILED"
    last = delivery.tries.order_by("-number").first()
    assert last.response_status == 500
    # Every attempt fell within WEBHOOK_RETRY_HOURS of the event, and there were a dozen or so
    # (exponential, then hourly), not thousands.
    assert 10 <= delivery.attempts <= 40


def test_nobody_listening_writes_nothing(db):
    assert webhook_event_emit(type="import.completed", data={}) is None
    assert not WebhookDelivery.objects.exists()


def test_operation_events(platforms, provision, receiver, loopback_allowed):
    platforms.add_servers(1)
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(
        url=receiver.url, events=["operation.completed", "operation.failed"], api_key=key
    )
    done = provision(name="Algorithms", created_by_key=key)
    failed = provision(name="Compilers", created_by_key=key, discord_guild_id="999999999999999999")

    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [(b["type"], b["data"]["courseId"], b["data"]["kind"]) for b in bodies] == [
        ("operation.completed", str(done.id), "PROVISION"),
        ("operation.failed", str(failed.id), "PROVISION"),
    ]
    assert all(isinstance(b["data"]["operationId"], int) for b in bodies)


def test_an_admin_keys_endpoint_hears_of_every_course(platforms, provision, receiver):
    platforms.add_servers(1)
    admin_key, _ = api_key_create(name="Ops", is_admin=True)
    webhook_endpoint_create(url=receiver.url, events=["course.completed"], api_key=admin_key)
    course = provision(name="Algorithms")  # made by the CLI: no key
    assert [json.loads(r["body"])["data"]["courseId"] for r in receiver.received] == [
        str(course.id)
    ]


def test_background_mode_delivers_in_a_thread(db, receiver, settings):
    """The embedded default (no broker): the attempt runs in a thread of this process, and the
    emitting call does not wait for the receiver."""
    import time

    settings.PROVISIONING_EXECUTION = "background"
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    webhook_event_emit(type="import.completed", data={}, api_key=key)
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.received) == 1
    for _ in range(100):
        if WebhookDelivery.objects.get().status == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert WebhookDelivery.objects.get().status == "SUCCEEDED"


def test_revoked_keys_and_deleted_endpoints_hear_nothing(db, receiver, loopback_allowed):
    from api.services import api_key_revoke
    from webhooks.services import webhook_endpoint_delete

    key, _ = api_key_create(name="LMS")
    endpoint = webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    receiver.status = 503
    webhook_event_emit(type="import.completed", data={}, api_key=key)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "PENDING"

    webhook_endpoint_delete(endpoint=endpoint)  # a retry due later finds no endpoint: given up
    receiver.status = 200
    webhooks_deliver_due(now=timezone.now() + timedelta(hours=1))
    delivery.refresh_from_db()
    assert (
        delivery.status == "FAILED" and "deleted" in delivery.tries.order_by("number").last().error
    )
    assert len(receiver.received) == 1

    webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    api_key_revoke(api_key=key)
    assert webhook_event_emit(type="import.completed", data={}, api_key=key) is None


def test_with_a_broker_the_first_attempt_is_a_celery_task_sent_by_name(
    db, receiver, loopback_allowed, monkeypatch
):
    from config.celery import app
    from webhooks import dispatch

    sent = []
    monkeypatch.setattr(dispatch, "execution_mode", lambda: "celery")
    monkeypatch.setattr(app, "send_task", lambda name, args: sent.append((name, args)))
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    webhook_event_emit(type="import.completed", data={}, api_key=key)
    delivery = WebhookDelivery.objects.get()
    assert sent == [("webhooks.tasks.deliver_webhook", [str(delivery.id)])]
    assert receiver.received == []

    from webhooks.tasks import deliver_webhook

    deliver_webhook(str(delivery.id))  # what the worker runs
    deliver_webhook(str(delivery.id))  # a redelivered message: already succeeded, nothing sent
    assert len(receiver.received) == 1


def test_course_completed_is_said_once_not_again_after_each_verify(
    platforms, provision, receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    """course.completed means ready: sent when provisioning completes, not when a later
    operation (a scheduled verify, every day) leaves the course completed again."""
    platforms.add_servers(1)
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(
        url=receiver.url, events=["course.completed", "operation.completed"], api_key=key
    )
    course = provision(name="Algorithms", created_by_key=key)
    with django_capture_on_commit_callbacks(execute=True):
        course_verify(course=course)

    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [(b["type"], b["data"].get("kind")) for b in bodies] == [
        ("operation.completed", "PROVISION"),
        ("course.completed", None),
        ("operation.completed", "VERIFY"),
    ]
