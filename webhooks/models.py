"""Webhook endpoints, the events sent to them, and every attempt at delivering one."""

from __future__ import annotations

import uuid

from django.db import models


class WebhookEndpoint(models.Model):
    """Where an integrator wants to hear about events: registered per API key, or given once with
    a course (``webhookUrl`` on ``POST /courses``: ``course`` is set and only its events go there).

    The secret signs every delivery (``webhooks.signing``); it is kept readable because signing
    needs it, and shown to the integrator once, when the endpoint is made.
    """

    class Event(models.TextChoices):
        COURSE_COMPLETED = "course.completed"
        COURSE_FAILED = "course.failed"
        OPERATION_COMPLETED = "operation.completed"
        OPERATION_FAILED = "operation.failed"
        IMPORT_COMPLETED = "import.completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="Whose endpoint: it hears of that key's courses (an admin key: of all).",
    )
    course = models.ForeignKey(
        "courses.Course",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="webhook_endpoints",
        help_text="Set for a course's one-off webhookUrl: only that course's events.",
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Event types sent here.")
    secret = models.CharField(max_length=80, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One event, as sent: ``{id, type, createdAt, data}``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict)
    course = models.ForeignKey(
        "courses.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: tried until a 2xx, or until ``WEBHOOK_RETRY_HOURS`` passed."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"  # due at next_attempt_at
        SENDING = "SENDING", "Sending"  # claimed by an attempt
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"  # gave up

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    url = models.URLField(max_length=2000)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event.type} -> {self.url}"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: what the receiver answered, or why nothing was sent."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.response_status or self.error[:40]}"
