"""The semester endpoint: ``POST /semesters/{semester}/archive``, every course of it at once.

Thin: ``provisioning.archive`` plans and starts; this parses, calls and serializes. A semester's
courses belong to many keys, so this takes an admin key (or a staff session allowed to change
courses): an ordinary key is a 403, and would otherwise learn of other keys' courses.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api.fields import StrictInputSerializer
from api.schema import error_responses
from courses.api.operations import OperationSerializer, request_caller
from courses.models import Course
from provisioning.archive import semester_archive_plan, semester_archive_start
from provisioning.selectors import operations_json


class SemesterArchiveInputSerializer(StrictInputSerializer):
    dryRun = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Answer the plan (200): what would change and the writes it costs; nothing "
        "is done.",
    )


# --- output (documentation of provisioning.archive) ---------------------------------------------


class CourseArchivePlanSerializer(serializers.Serializer):
    courseId = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Course.Type.choices)
    changes = serializers.ListField(child=serializers.CharField())
    githubWrites = serializers.IntegerField()
    discordWrites = serializers.IntegerField()
    discordReads = serializers.IntegerField()


class SkippedCourseSerializer(serializers.Serializer):
    courseId = serializers.UUIDField()
    name = serializers.CharField()
    reason = serializers.CharField(help_text="already archived, busy, failed...")


class SemesterArchivePlanSerializer(serializers.Serializer):
    semester = serializers.CharField()
    courses = CourseArchivePlanSerializer(many=True, help_text="The courses it would archive.")
    skipped = SkippedCourseSerializer(many=True)
    githubWrites = serializers.IntegerField()
    discordWrites = serializers.IntegerField()
    estimatedSeconds = serializers.FloatField(
        help_text="The least time under GITHUB_WRITE_BUDGET and DISCORD_GLOBAL_LIMIT."
    )


class CourseOperationSerializer(OperationSerializer):
    courseId = serializers.UUIDField()


class SemesterArchiveSerializer(serializers.Serializer):
    semester = serializers.CharField()
    operations = CourseOperationSerializer(many=True, help_text="One ARCHIVE per course started.")
    skipped = SkippedCourseSerializer(many=True)


class SemesterViewSet(viewsets.GenericViewSet):
    lookup_field = "semester"
    lookup_value_regex = "[^/]+"
    session_permissions = {"archive": ("courses.change_course",)}
    pagination_class = None

    @extend_schema(
        operation_id="semesters_archive",
        summary="Archive every course of a semester; {dryRun: true} answers the plan",
        description="One ARCHIVE operation per live, COMPLETED, not yet archived course of the "
        "semester (see POST /courses/{id}/archive), each started on its own: a course that is "
        "busy, failed or already archived is skipped and listed with the reason. The plan "
        "lists what each course would change and the writes it costs, with the time the "
        "GitHub write budget makes them take. An admin key (or a staff session) only. 400 for "
        "a value that is no semester, 404 for a semester without courses.",
        request=SemesterArchiveInputSerializer,
        examples=[OpenApiExample("Dry run", request_only=True, value={"dryRun": True})],
        responses={
            200: OpenApiResponse(SemesterArchivePlanSerializer, description="The plan (dryRun)."),
            202: OpenApiResponse(SemesterArchiveSerializer, description="Operations started."),
            **error_responses(400, 403, 404, 413, 415),
        },
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, semester: str) -> Response:
        api_key, user = request_caller(request)
        if api_key is not None and not api_key.is_admin:
            raise PermissionDenied(
                "Archiving a semester acts on every course of it: it takes an admin key."
            )
        options = SemesterArchiveInputSerializer(data=request.data or {})
        options.is_valid(raise_exception=True)
        # Both services answer a 400 for no semester; the start needs no plan of its own.
        if options.validated_data["dryRun"]:
            plan = semester_archive_plan(semester=semester)
            if not plan["courses"] and not plan["skipped"]:
                raise NotFound(f"No course in semester {plan['semester']}.")
            return Response(plan)
        started = semester_archive_start(
            semester=semester, requested_by_key=api_key, requested_by_user=user
        )
        if not started.operations and not started.skipped:
            raise NotFound(f"No course in semester {started.semester}.")
        bodies = operations_json(ids=[operation.id for operation in started.operations])
        operations = [
            {"courseId": str(operation.course_id), **bodies[operation.id]}
            for operation in started.operations
        ]
        body = {"semester": started.semester, "operations": operations, "skipped": started.skipped}
        return Response(body, status=202)
