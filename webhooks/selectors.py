"""Reads behind the webhook endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from webhooks.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from api.models import ApiKey


def webhook_endpoints_visible(*, api_key: ApiKey | None) -> QuerySet[WebhookEndpoint]:
    """A key sees its own endpoints (its courses' webhookUrl included); an admin key, or a staff
    session (held to the model permissions), all of them: the rule of courses_visible."""
    if api_key is None or api_key.is_admin:
        return WebhookEndpoint.objects.all()
    return WebhookEndpoint.objects.filter(api_key=api_key)


def webhook_deliveries(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first, with their attempts."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("tries")
        .order_by("-created_at", "-id")
    )
