"""JSON of the webhook endpoints, in camelCase like the course endpoints."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import StrictCharField, StrictInputSerializer, StrictListField
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import EVENTS


class WebhookCreateInputSerializer(StrictInputSerializer):
    url = StrictCharField(
        documented={"maxLength": 2000, "format": "uri"},
        help_text="http(s) URL; in production not a private, loopback or link-local address.",
    )
    events = StrictListField(
        child=serializers.ChoiceField(
            choices=EVENTS,
            error_messages={"invalid_choice": f"Choose from {', '.join(EVENTS)}."},
        ),
        documented={"minItems": 1},
    )


class WebhookSerializer(serializers.ModelSerializer):
    courseId = serializers.UUIDField(source="course_id", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "courseId", "createdAt"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Signs every delivery (X-Signature). Shown this once."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookAttemptSerializer(serializers.ModelSerializer):
    responseStatus = serializers.IntegerField(
        source="response_status", read_only=True, allow_null=True
    )
    durationMs = serializers.IntegerField(source="duration_ms", read_only=True)
    responseExcerpt = serializers.CharField(source="response_excerpt", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "succeeded",
            "responseStatus",
            "durationMs",
            "responseExcerpt",
            "error",
            "createdAt",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    eventId = serializers.UUIDField(source="event_id", read_only=True)
    eventType = serializers.CharField(source="event.type", read_only=True)
    nextAttemptAt = serializers.DateTimeField(
        source="next_attempt_at", read_only=True, allow_null=True
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)
    tries = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "eventId",
            "eventType",
            "url",
            "status",
            "attempts",
            "nextAttemptAt",
            "createdAt",
            "finishedAt",
            "tries",
        ]
        read_only_fields = fields
