"""One attempt at delivering an event to an endpoint, and the schedule of the next one.

A delivery is claimed with a compare-and-set (``PENDING`` and due → ``SENDING``), so that the
immediate attempt, a periodic sweep and an admin's "redeliver" never send it twice at once; a
claim older than ``CLAIM_SECONDS`` (its worker died mid-request) is taken over. Every attempt is a
``WebhookAttempt`` row. A 2xx succeeds; anything else (another status, a refused target, no
answer) is tried again after ``WEBHOOK_RETRY_BASE_SECONDS`` * 2^(n-1) (at most an hour), until
``WEBHOOK_RETRY_HOURS`` after the event: then the delivery is ``FAILED``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timedelta
from uuid import UUID

import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from webhooks.signing import HEADER, webhook_signature
from webhooks.targets import Target, TargetRefused, webhook_target_resolve

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status

CLAIM_SECONDS = 300  # an attempt still "sending" after this long died with its worker
MAX_WAIT_SECONDS = 3600  # the longest wait between two attempts
EXCERPT_CHARS = 2000


def webhook_event_body(*, event: WebhookEvent) -> bytes:
    """The JSON sent for an event; the same bytes on every attempt of every endpoint."""
    payload = {
        "id": str(event.id),
        "type": event.type,
        "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def webhook_retry_delay(*, attempts: int) -> float:
    """Exponential backoff with a little jitter, after ``attempts`` failed attempts."""
    ceiling = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), MAX_WAIT_SECONDS)
    return random.uniform(ceiling * 0.8, ceiling)


def webhook_delivery_attempt(
    *, delivery_id: UUID | str, now: datetime | None = None
) -> WebhookAttempt | None:
    """Attempt a delivery if it is due and nobody else is sending it; the attempt made, or None."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=CLAIM_SECONDS)
    claimed = (
        WebhookDelivery.objects.filter(id=delivery_id)
        .filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, claimed_at__lt=stale)
        )
        .update(status=Status.SENDING, claimed_at=now)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(id=delivery_id)
    number = delivery.attempts + 1
    started = time.monotonic()
    status_code: int | None = None
    excerpt = error = ""
    endpoint = delivery.endpoint
    if endpoint is None:
        error = "The endpoint was deleted."
    else:
        body = webhook_event_body(event=delivery.event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "course-provisioning-webhooks/1",
            "X-Webhook-Id": str(delivery.event.id),
            "X-Webhook-Event": delivery.event.type,
            HEADER: webhook_signature(secret=endpoint.secret, body=body),
        }
        try:
            target = webhook_target_resolve(url=delivery.url)  # again: DNS may have changed
            status_code, excerpt = _post(target, body, headers)
        except TargetRefused as exc:
            error = str(exc)
        except urllib3.exceptions.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = status_code is not None and 200 <= status_code < 300
    attempt = WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        response_status=status_code,
        succeeded=succeeded,
        duration_ms=duration_ms,
        response_excerpt=excerpt[:EXCERPT_CHARS],
        error=error[:EXCERPT_CHARS],
    )
    finished = max(now, timezone.now())  # ``now`` may be ahead: a test driving the schedule
    deadline = delivery.event.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    retry_at = finished + timedelta(seconds=webhook_retry_delay(attempts=number))
    if succeeded:
        update = {"status": Status.SUCCEEDED, "finished_at": finished, "next_attempt_at": None}
    elif endpoint is None or retry_at > deadline:
        update = {"status": Status.FAILED, "finished_at": finished, "next_attempt_at": None}
    else:
        update = {"status": Status.PENDING, "next_attempt_at": retry_at}
    WebhookDelivery.objects.filter(id=delivery.id).update(
        attempts=number, claimed_at=None, **update
    )
    return attempt


def webhook_deliveries_due(*, now: datetime | None = None) -> list[UUID]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:500]
    )


def webhooks_deliver_due(*, now: datetime | None = None) -> int:
    """Attempt every due delivery (the periodic sweep); how many attempts were made."""
    made = 0
    for delivery_id in webhook_deliveries_due(now=now):
        if webhook_delivery_attempt(delivery_id=delivery_id, now=now) is not None:
            made += 1
    return made


def _post(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST to the checked address (not to a new lookup of the name), as the URL's host."""
    timeout = urllib3.Timeout(connect=5.0, read=settings.WEBHOOK_TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False
        )
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if ":" not in target.host else f"[{target.host}]"
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
        )
        try:
            excerpt = response.read(EXCERPT_CHARS, decode_content=True)
        finally:
            response.release_conn()
        return response.status, excerpt.decode("utf-8", "replace")
    finally:
        pool.close()
