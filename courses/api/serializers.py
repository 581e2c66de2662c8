"""JSON in and out of the course endpoints, in camelCase (the NestJS contract).

Input serializers check the shape only (types, required fields, no unknown fields); the rules
(lengths, patterns, uniqueness, lecture vs laboratory) are ``courses.services.course_validate``'s,
documented here through ``documented=`` so that the schema tells integrators what will pass.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import StrictCharField, StrictInputSerializer, StrictIntegerField, StrictListField
from audit.models import AuditLog
from courses.models import MAX_LAB_GROUPS, Course, LabGroup
from courses.services import SEMESTER_PATTERN, SNOWFLAKE_PATTERN
from provisioning.models import ExternalResource, ProvisioningStep
from provisioning.steps import HANDLERS
from webhooks.targets import TargetRefused, webhook_url_validate


class BlankAsNullCharField(serializers.CharField):
    """Output only: the models store "none" as an empty string; JSON says null."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    # The override's point is None where CharField says it returns a str.
    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return str(value) if value else None


# --- input ------------------------------------------------------------------------------------


class LabGroupInputSerializer(StrictInputSerializer):
    """A lab group of a laboratory course."""

    name = StrictCharField(
        documented={"minLength": 1, "maxLength": 100},
        help_text="Unique within the course (case-insensitive).",
    )
    number = StrictIntegerField(
        documented={"minimum": 1, "maximum": 999}, help_text="Unique within the course."
    )


class CourseCreateInputSerializer(StrictInputSerializer):
    """A course to create. Unknown fields are rejected; the rules are the admin's and the CLI's."""

    name = StrictCharField(documented={"minLength": 1, "maxLength": 100})
    semester = StrictCharField(
        documented={"pattern": f"^{SEMESTER_PATTERN.pattern}$", "maxLength": 32},
        help_text="e.g. 2026-fall",
    )
    type = serializers.ChoiceField(
        choices=Course.Type.choices,
        error_messages={"invalid_choice": f"Choose one of {', '.join(Course.Type.values)}."},
    )
    labGroups = StrictListField(
        child=LabGroupInputSerializer(),
        required=False,
        documented={"maxItems": MAX_LAB_GROUPS},
        help_text=f"Required for a LABORATORY (1 to {MAX_LAB_GROUPS}), forbidden for a LECTURE.",
    )
    discordGuildId = StrictCharField(
        required=False,
        allow_null=True,
        documented={"pattern": f"^{SNOWFLAKE_PATTERN.pattern}$"},
        help_text="A staff-made Discord server (snowflake id) to use; omit to take one from "
        "the pool.",
    )
    githubOrg = StrictCharField(
        required=False,
        allow_null=True,
        documented={"maxLength": 39},
        help_text="The GitHub organization for the course's repositories; omit for the "
        "platform's default (GITHUB_ORG).",
    )
    priority = serializers.ChoiceField(
        choices=Course.Priority.choices,
        required=False,
        default=Course.Priority.NORMAL,
        error_messages={"invalid_choice": f"Choose one of {', '.join(Course.Priority.values)}."},
        help_text="Who goes first when courses wait for the platforms' rate limits.",
    )

    webhookUrl = StrictCharField(
        required=False,
        allow_null=True,
        documented={"maxLength": 2000, "format": "uri"},
        help_text="Where to POST this course's course.completed / course.failed events, signed "
        "like every webhook (see /webhooks); the secret is in the answer's webhookSecret, once.",
    )

    def validate_webhookUrl(self, value: str | None) -> str | None:
        if value:
            try:
                webhook_url_validate(url=value)
            except TargetRefused as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value


# --- output -----------------------------------------------------------------------------------


class LabGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabGroup
        fields = ["name", "number"]


class CourseSerializer(serializers.ModelSerializer):
    labGroups = LabGroupSerializer(source="lab_groups", many=True, read_only=True)
    discordGuildId = BlankAsNullCharField(source="discord_guild_id")
    githubOrg = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    deletedAt = serializers.DateTimeField(
        source="deleted_at",
        read_only=True,
        allow_null=True,
        help_text="When a tear down removed what the course made; null for a live course.",
    )
    archivedAt = serializers.DateTimeField(
        source="archived_at",
        read_only=True,
        allow_null=True,
        help_text="Since when the course is archived (read-only on the platforms); null when "
        "it is not.",
    )

    class Meta:
        model = Course
        fields = [
            "id",
            "name",
            "semester",
            "type",
            "labGroups",
            "status",
            "priority",
            "discordGuildId",
            "githubOrg",
            "createdAt",
            "updatedAt",
            "deletedAt",
            "archivedAt",
        ]
        read_only_fields = fields

    def get_githubOrg(self, course: Course) -> str:
        """The organization in effect: the course's own, or GITHUB_ORG."""
        return course.github_org or settings.GITHUB_ORG

    def to_representation(self, instance: Course) -> dict[str, Any]:
        """The fields above, written out: what DRF's generic walk gives (tested equal), without
        building and copying the thirteen field objects for every course (half of what serializing
        a course cost, on every create, retrieve and list page). The fields stay declared for the
        schema and as the reference the test compares with."""
        course = instance
        return {
            "id": str(course.id),
            "name": course.name,
            "semester": course.semester,
            "type": course.type,
            "labGroups": [
                {"name": group.name, "number": group.number} for group in course.lab_groups.all()
            ],
            "status": course.status,
            "priority": course.priority,
            "discordGuildId": course.discord_guild_id or None,
            "githubOrg": course.github_org or settings.GITHUB_ORG,
            "createdAt": _datetime_json(course.created_at),
            "updatedAt": _datetime_json(course.updated_at),
            "deletedAt": _datetime_json(course.deleted_at),
            "archivedAt": _datetime_json(course.archived_at),
        }


_DATETIME = serializers.DateTimeField(read_only=True)


def _datetime_json(value: Any) -> str | None:
    """A date and time as every DateTimeField of the API writes it (ISO 8601, in TIME_ZONE)."""
    return None if value is None else _DATETIME.to_representation(value)


class StepStatusSerializer(serializers.Serializer):
    """One row of ``provisioning.selectors.course_status`` (documentation only)."""

    stepName = serializers.ChoiceField(choices=sorted(HANDLERS))
    status = serializers.ChoiceField(choices=ProvisioningStep.Status.choices)
    attempts = serializers.IntegerField()
    lastError = serializers.CharField(allow_null=True)
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)


class ProgressSerializer(serializers.Serializer):
    completed = serializers.IntegerField(help_text="Steps COMPLETED or SKIPPED.")
    total = serializers.IntegerField()


class CourseStatusSerializer(serializers.Serializer):
    """``provisioning.selectors.course_status``, as is (documentation only)."""

    courseId = serializers.UUIDField()
    courseStatus = serializers.ChoiceField(choices=Course.Status.choices)
    progress = ProgressSerializer()
    steps = StepStatusSerializer(many=True)


class ExternalResourceSerializer(serializers.ModelSerializer):
    labGroup = serializers.SerializerMethodField(
        help_text="The lab group's number, or null for a resource of the whole course."
    )
    externalId = BlankAsNullCharField(
        source="external_id", help_text="The platform's id; null until the creation is confirmed."
    )
    url = BlankAsNullCharField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = ExternalResource
        fields = [
            "id",
            "provider",
            "kind",
            "key",
            "labGroup",
            "externalId",
            "url",
            "state",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_labGroup(self, resource: ExternalResource) -> int | None:
        return resource.lab_group.number if resource.lab_group else None


class AuditLogSerializer(serializers.ModelSerializer):
    requestBody = serializers.JSONField(
        source="request_body", read_only=True, allow_null=True, help_text="Secrets redacted."
    )
    responseStatus = serializers.IntegerField(
        source="response_status", read_only=True, allow_null=True
    )
    responseExcerpt = serializers.CharField(source="response_excerpt", read_only=True)
    durationMs = serializers.IntegerField(source="duration_ms", read_only=True)
    attempt = serializers.IntegerField(read_only=True, allow_null=True)
    taskId = serializers.CharField(source="task_id", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "provider",
            "method",
            "route",
            "url",
            "requestBody",
            "responseStatus",
            "responseExcerpt",
            "durationMs",
            "error",
            "step",
            "attempt",
            "taskId",
            "createdAt",
        ]
        read_only_fields = fields


class CourseFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET /courses``."""

    status = serializers.ChoiceField(choices=Course.Status.choices, required=False)
    type = serializers.ChoiceField(choices=Course.Type.choices, required=False)
    semester = serializers.CharField(required=False, max_length=32)
    search = serializers.CharField(
        required=False, max_length=100, help_text="Part of the name, case-insensitive."
    )
    deleted = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: list torn-down courses too (hidden by default).",
    )
