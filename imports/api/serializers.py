"""JSON of the import endpoints, in camelCase like the course endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses.models import Course
from imports.models import Import, ImportRow
from imports.selectors import import_counts, import_rows


class ImportOptionsSerializer(serializers.Serializer):
    """Query parameters of ``POST /imports``."""

    dryRun = serializers.BooleanField(
        required=False, default=False, help_text="Answer the plan (200) and do nothing."
    )
    allOrNothing = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Create every course in one transaction, and none when any row is invalid.",
    )
    priority = serializers.ChoiceField(
        choices=Course.Priority.choices,
        required=False,
        default=Course.Priority.NORMAL,
        error_messages={"invalid_choice": f"Choose one of {', '.join(Course.Priority.values)}."},
    )


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(required=False, help_text="In the plan's error list.")
    field = serializers.CharField(help_text="The column (CSV) or key (JSON) at fault.")
    reason = serializers.CharField()


class PlanRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="CSV: the file's line (the header is 1); JSON: item.")
    name = serializers.CharField()
    semester = serializers.CharField()
    type = serializers.CharField()
    groups = serializers.ListField(child=serializers.CharField())
    discordGuildId = serializers.CharField(allow_null=True)
    valid = serializers.BooleanField()
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a field, not .errors


class PlanSerializer(serializers.Serializer):
    """``imports.services.ImportPlan.as_dict()`` (documentation only)."""

    rows = PlanRowSerializer(many=True)
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a field, not .errors
    validRows = serializers.IntegerField()
    invalidRows = serializers.IntegerField()
    priority = serializers.ChoiceField(choices=Course.Priority.choices)
    serversNeeded = serializers.IntegerField(help_text="Valid rows without a discordGuildId.")
    serversAvailable = serializers.IntegerField(help_text="Pool servers they may claim.")
    serversShortfall = serializers.IntegerField()
    githubWrites = serializers.IntegerField()
    discordCalls = serializers.IntegerField()
    estimatedSeconds = serializers.FloatField(
        help_text="The least time the rate budgets allow, with nothing else spending them."
    )
    estimate = serializers.CharField(help_text='e.g. "412 GitHub writes ≈ 6.9 min at 70/1 min"')


class ImportRowSerializer(serializers.ModelSerializer):
    errors = RowErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]
    courseId = serializers.UUIDField(source="course_id", read_only=True, allow_null=True)
    courseStatus = serializers.SerializerMethodField()
    courseUrl = serializers.SerializerMethodField(help_text="The course in the API.")

    class Meta:
        model = ImportRow
        fields = [
            "line",
            "name",
            "semester",
            "type",
            "outcome",
            "errors",
            "courseId",
            "courseStatus",
            "courseUrl",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True, "enum": Course.Status.values})
    def get_courseStatus(self, row: ImportRow) -> str | None:
        return row.course.status if row.course else None

    @extend_schema_field({"type": "string", "nullable": True, "format": "uri"})
    def get_courseUrl(self, row: ImportRow) -> str | None:
        request = self.context.get("request")
        if row.course_id is None or request is None:
            return None
        return str(request.build_absolute_uri(f"/courses/{row.course_id}"))


class ImportSerializer(serializers.ModelSerializer):
    allOrNothing = serializers.BooleanField(source="all_or_nothing", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)
    interruptedAt = serializers.DateTimeField(
        source="interrupted_at",
        read_only=True,
        allow_null=True,
        help_text="When the import was found stopped part way (its process crashed or was cut "
        "off while creating its courses): rows after the last one listed were not created, and "
        "the import ends FAILED. Import the file again to create them.",
    )
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Import
        fields = [
            "id",
            "status",
            "priority",
            "allOrNothing",
            "format",
            "plan",
            "counts",
            "createdAt",
            "finishedAt",
            "interruptedAt",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "rows": {"type": "integer"},
                "created": {"type": "integer"},
                "invalid": {"type": "integer"},
                "notCreated": {"type": "integer"},
                "courses": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        }
    )
    def get_counts(self, record: Import) -> dict[str, Any]:
        return import_counts(record=record)


class ImportDetailSerializer(ImportSerializer):
    rows = serializers.SerializerMethodField()

    class Meta(ImportSerializer.Meta):
        fields = [*ImportSerializer.Meta.fields, "rows"]
        read_only_fields = fields

    @extend_schema_field(ImportRowSerializer(many=True))
    def get_rows(self, record: Import) -> Any:
        return ImportRowSerializer(import_rows(record=record), many=True, context=self.context).data
