"""SSRF: private, loopback and link-local targets are refused in production, at registration and
at delivery (DNS rebinding), unless WEBHOOK_ALLOWED_HOSTS names them."""

from __future__ import annotations

import socket

import pytest

from api.services import api_key_create
from tests.config.helpers import EVERY_VARIABLE, clean_env, run_python
from webhooks.delivery import webhooks_deliver_due
from webhooks.models import WebhookDelivery
from webhooks.services import WebhookInvalid, webhook_endpoint_create, webhook_event_emit


@pytest.fixture
def production_guard(settings):
    settings.WEBHOOK_BLOCK_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOWED_HOSTS = []


def test_production_settings_turn_the_guard_on():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.WEBHOOK_BLOCK_PRIVATE_TARGETS)"
    )
    result = run_python(["-c", code], clean_env(**EVERY_VARIABLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_targets_are_refused(db, production_guard, url):
    with pytest.raises(WebhookInvalid) as refused:
        webhook_endpoint_create(url=url, events=["course.completed"])
    assert "non-public address" in refused.value.errors["url"][0]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@example.com/", "nope"])
def test_malformed_targets_are_refused(db, url):
    with pytest.raises(WebhookInvalid):
        webhook_endpoint_create(url=url, events=["course.completed"])


def test_allowed_hosts_lift_the_guard_by_name(db, production_guard, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    webhook_endpoint_create(url="http://localhost:9/hook", events=["course.completed"])


def test_dns_rebinding_is_refused_at_delivery(
    transactional_db, production_guard, receiver, monkeypatch
):
    """Public when registered, loopback when delivered: nothing is sent."""
    real = socket.getaddrinfo
    answer = {"address": "93.184.216.34"}

    def resolve(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    key, _ = api_key_create(name="LMS")
    webhook_endpoint_create(
        url=f"http://hooks.example.com:{receiver.port}/", events=["import.completed"], api_key=key
    )
    answer["address"] = "127.0.0.1"  # the name now points at us
    webhook_event_emit(type="import.completed", data={}, api_key=key)

    delivery = WebhookDelivery.objects.get()
    assert "non-public address (127.0.0.1)" in delivery.tries.get().error
    assert receiver.received == []
    assert webhooks_deliver_due(now=delivery.next_attempt_at) == 1
    assert receiver.received == []
