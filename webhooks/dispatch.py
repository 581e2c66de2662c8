"""Where a delivery attempt runs, following provisioning's ``config.celery.execution_mode``:

- ``celery``: the ``webhooks.tasks.deliver_webhook`` task, sent by name at once; later attempts
  are picked up by beat's ``webhooks.tasks.deliver_due_webhooks`` sweep (every
  ``WEBHOOK_SWEEP_SECONDS``). The schedule lives in the database, not in Celery countdowns: a
  countdown of hours would outlive Redis's visibility timeout and be delivered twice.
- ``background`` (the embedded default, no broker): a thread of this process, and a timer thread
  for each later attempt. Like background provisioning, a process that exits forgets its timers;
  the next event sent (or ``redeliver`` in the admin) picks up what is due.
- ``inline`` (tests, the demo): the first attempt in the caller; later attempts only when
  ``webhooks_deliver_due`` is called (tests drive the retries that way).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from django.db import connections
from django.utils import timezone

from config.celery import BACKGROUND, INLINE, app, execution_mode
from webhooks.delivery import webhook_delivery_attempt, webhooks_deliver_due
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhooks")


def webhook_delivery_enqueue(*, delivery_id: UUID | str) -> None:
    """Start a delivery's attempt now (call after commit)."""
    mode = execution_mode()
    if mode == INLINE:
        webhook_delivery_attempt(delivery_id=delivery_id)
    elif mode == BACKGROUND:
        _executor.submit(_attempt_in_background, delivery_id)
    else:
        try:
            app.send_task("webhooks.tasks.deliver_webhook", args=[str(delivery_id)])
        except Exception:  # broker down: the sweep sends it once the broker is back
            logger.warning("could not enqueue webhook delivery %s", delivery_id, exc_info=True)


def _attempt_in_background(delivery_id: UUID | str) -> None:
    try:
        webhooks_deliver_due()  # anything a previous process left due, this one included
        webhook_delivery_attempt(delivery_id=delivery_id)
        next_at = (
            WebhookDelivery.objects.filter(id=delivery_id, status=WebhookDelivery.Status.PENDING)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if next_at is not None:
            delay = max(0.0, (next_at - timezone.now()).total_seconds())
            timer = threading.Timer(
                delay, _executor.submit, args=(_attempt_in_background, delivery_id)
            )
            timer.daemon = True
            timer.start()
    except Exception:
        logger.exception("background webhook delivery %s crashed", delivery_id)
    finally:
        connections.close_all()
