"""Celery tasks: thin, they call webhooks.delivery (services send them by name)."""

from __future__ import annotations

from celery import shared_task

from webhooks.delivery import webhook_delivery_attempt, webhooks_deliver_due


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_webhook(delivery_id: str) -> None:
    """The first attempt of a delivery (later ones: ``deliver_due_webhooks``)."""
    webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def deliver_due_webhooks() -> int:
    """Periodic (beat): every delivery whose next attempt is due."""
    return webhooks_deliver_due()
