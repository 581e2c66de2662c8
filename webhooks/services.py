"""Webhook endpoints and events: register, delete, emit, redeliver."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from courses.models import Course
from provisioning.models import JobExecution, Operation
from webhooks.dispatch import webhook_delivery_enqueue
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.signing import webhook_secret_generate
from webhooks.targets import webhook_url_validate

if TYPE_CHECKING:
    from api.models import ApiKey

EVENTS = tuple(WebhookEndpoint.Event.values)
COURSE_EVENTS = (WebhookEndpoint.Event.COURSE_COMPLETED, WebhookEndpoint.Event.COURSE_FAILED)


class WebhookInvalid(ValueError):
    """A webhook that cannot be registered: ``errors`` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def webhook_endpoint_create(
    *,
    url: str,
    events: list[str] | tuple[str, ...],
    api_key: ApiKey | None = None,
    course: Course | None = None,
) -> WebhookEndpoint:
    """Register an endpoint; its secret (``endpoint.secret``) is to be shown to the caller once.

    The URL is checked as a delivery would check it (``webhooks.targets``): in production a
    private or loopback target is refused here already, with the reason.
    """
    errors: dict[str, list[str]] = {}
    try:
        webhook_url_validate(url=url)
    except ValueError as exc:
        errors["url"] = [str(exc)]
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        errors["events"] = [f"Unknown event {', '.join(unknown)}; choose from {', '.join(EVENTS)}."]
    elif not events:
        errors["events"] = ["Name at least one event."]
    if errors:
        raise WebhookInvalid(errors)
    return WebhookEndpoint.objects.create(
        url=url,
        events=sorted(set(events)),
        api_key=api_key,
        course=course,
        secret=webhook_secret_generate(),
    )


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to it; its past deliveries stay (their endpoint becomes empty)."""
    endpoint.delete()


def webhook_event_emit(
    *,
    type: str,
    data: dict[str, Any],
    course: Course | None = None,
    api_key: ApiKey | None = None,
) -> WebhookEvent | None:
    """Record an event and deliver it, after commit, to every endpoint that asked for it.

    Who hears it: the endpoints of admin keys; for a course event the endpoints of the key that
    created the course and the course's own ``webhookUrl``; for another event (``import.completed``)
    the endpoints of ``api_key``, the key that made the import. ``None`` when nobody listens (no
    row is written).
    """
    audience = Q(api_key__is_admin=True, course__isnull=True)
    owner = course.created_by_key_id if course is not None else (api_key.pk if api_key else None)
    if owner is not None:
        audience |= Q(api_key_id=owner, course__isnull=True)
    if course is not None:
        audience |= Q(course=course)
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(audience).filter(
            Q(api_key__isnull=True) | Q(api_key__revoked_at__isnull=True)
        )
        if type in endpoint.events
    ]
    if not endpoints:
        return None
    now = timezone.now()
    with transaction.atomic():
        event = WebhookEvent.objects.create(type=type, data=data, course=course)
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(event=event, endpoint=e, url=e.url, next_attempt_at=now)
            for e in endpoints
        )
        for delivery in deliveries:
            transaction.on_commit(partial(webhook_delivery_enqueue, delivery_id=delivery.id))
    return event


def webhook_course_finished(*, course_id: UUID | str, status: str) -> WebhookEvent | None:
    """``course.completed`` or ``course.failed``, with the failing step and its error."""
    course = Course.objects.filter(id=course_id).first()
    if course is None or status not in Course.TERMINAL:
        return None
    data: dict[str, Any] = {
        "courseId": str(course.id),
        "name": course.name,
        "semester": course.semester,
        "courseType": course.type,
        "status": status,
    }
    if status == Course.Status.FAILED:
        failed = course.steps.filter(status="FAILED").order_by("order").first()
        data["failedStep"] = failed.name if failed else None
        data["error"] = failed.last_error if failed else ""
    finished = _operations_finished(course=course)
    if status == Course.Status.COMPLETED and not any(
        operation.kind == Operation.Kind.PROVISION for operation in finished
    ):
        # A change, a verify, an archive... ended and the course is as ready as before: their
        # own operation.* event says so. course.completed means "ready" once, when provisioning
        # (or its retry) completes, not again at every scheduled verify.
        return None
    event_type = "course.completed" if status == Course.Status.COMPLETED else "course.failed"
    return webhook_event_emit(type=event_type, data=data, course=course)


def _operations_finished(*, course: Course) -> list[Operation]:
    """``operation.completed`` / ``operation.failed`` for each operation (provisioning, a change)
    that the run now ending finished: those finished since its job began. A run releases the
    course once, so each operation is announced once per run that ends it. Returns them."""
    job = JobExecution.objects.filter(course=course).order_by("-started_at", "-id").first()
    if job is None:
        return []
    finished = list(
        Operation.objects.filter(
            course=course,
            status__in=(Operation.Status.COMPLETED, Operation.Status.FAILED),
            finished_at__gte=job.started_at,
        ).order_by("finished_at", "id")
    )
    for operation in finished:
        completed = operation.status == Operation.Status.COMPLETED
        webhook_event_emit(
            type="operation.completed" if completed else "operation.failed",
            data={
                "operationId": operation.id,
                "courseId": str(course.id),
                "kind": operation.kind,
                "status": operation.status,
                "params": operation.params,
            },
            course=course,
        )
    return finished


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> bool:
    """Send a delivery again now (the admin's action); False while an attempt is under way."""
    restarted = (
        WebhookDelivery.objects.filter(id=delivery.id)
        .exclude(status=WebhookDelivery.Status.SENDING)
        .update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            finished_at=None,
        )
    )
    if restarted:
        transaction.on_commit(lambda: webhook_delivery_enqueue(delivery_id=delivery.id))
    return bool(restarted)


def course_webhook_attach(*, course: Course, url: str | None) -> WebhookEndpoint | None:
    """The one-off ``webhookUrl`` of ``POST /courses``: an endpoint for this course's events
    only, owned by the course's key (so it is listed, and its deliveries readable, under
    ``/webhooks``). Call it in the transaction that creates the course."""
    if not url:
        return None
    return webhook_endpoint_create(
        url=url, events=COURSE_EVENTS, api_key=course.created_by_key, course=course
    )
