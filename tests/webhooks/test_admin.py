"""Webhooks in the admin: the secret shown once, deliveries read-only, "redeliver"."""

from __future__ import annotations

import pytest
from django.test import Client

from api.services import api_key_create
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_create, webhook_event_emit

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK_PERMISSIONS = (
    "webhooks.add_webhookendpoint",
    "webhooks.change_webhookendpoint",
    "webhooks.view_webhookendpoint",
    "webhooks.view_webhookdelivery",
    "webhooks.view_webhookattempt",
)


@pytest.fixture
def hooks_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("ops", *WEBHOOK_PERMISSIONS))
    return client


def test_add_shows_the_secret_once(hooks_client, receiver, loopback_allowed):
    key, _ = api_key_create(name="LMS")
    response = hooks_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"api_key": key.pk, "url": receiver.url, "events": ["course.completed"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret and endpoint.secret in response.content.decode()
    page = hooks_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


def test_add_refuses_a_private_target(hooks_client, settings):
    settings.WEBHOOK_BLOCK_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOWED_HOSTS = []
    response = hooks_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"url": "http://10.0.0.1/hook", "events": ["course.completed"]},
    )
    assert response.status_code == 200
    assert "non-public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_are_read_only_and_can_be_redelivered(hooks_client, receiver, loopback_allowed):
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    webhook_event_emit(type="import.completed", data={}, api_key=key)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "SUCCEEDED" and len(receiver.received) == 1

    page = hooks_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # nothing to edit
    assert (
        hooks_client.post(f"/admin/webhooks/webhookdelivery/{delivery.pk}/delete/").status_code
        == 403
    )

    response = hooks_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )
    assert "1 delivery(ies) sent again" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "SUCCEEDED" and delivery.attempts == 2
    assert len(receiver.received) == 2
    assert delivery.tries.count() == 2


def test_redeliver_needs_the_change_permission(make_user, receiver, loopback_allowed):
    viewer = Client()
    viewer.force_login(make_user("viewer2", "webhooks.view_webhookdelivery"))
    page = viewer.get("/admin/webhooks/webhookdelivery/")
    assert page.status_code == 200
    assert "redeliver" not in page.content.decode()
