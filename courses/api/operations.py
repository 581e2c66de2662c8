"""JSON of the change endpoints and of a course's operations (camelCase, like the rest).

Input serializers check the shape only; the rules are ``courses.changes``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_api_key
from api.fields import StrictCharField, StrictInputSerializer, StrictListField
from api.models import ApiKey
from courses.api.serializers import LabGroupInputSerializer
from courses.models import MAX_LAB_GROUPS, Course
from courses.services import SNOWFLAKE_PATTERN
from provisioning.models import Operation, ProvisioningStep, StepAttempt
from provisioning.selectors import operations_json
from provisioning.steps import HANDLERS


class CourseChangeInputSerializer(StrictInputSerializer):
    """One change per request: a new name, or another Discord server."""

    name = StrictCharField(
        required=False,
        documented={"minLength": 1, "maxLength": 100},
        help_text="Renames the course and its Discord server (a RENAME operation); the "
        "repositories keep their names. The course must be COMPLETED.",
    )
    discordGuildId = StrictCharField(
        required=False,
        allow_blank=True,
        documented={"pattern": f"^({SNOWFLAKE_PATTERN.pattern})?$"},
        help_text="Rebinds a FAILED course in which nothing was made in Discord yet to this "
        "server (empty: the next pool server), and retries it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError(
                {"body": ["Send exactly one of name and discordGuildId."]}
            )
        return attrs


class LabGroupsAddInputSerializer(StrictInputSerializer):
    labGroups = StrictListField(
        child=LabGroupInputSerializer(),
        documented={"minItems": 1, "maxItems": MAX_LAB_GROUPS},
        help_text="The groups to add; numbers and names unique with the existing groups.",
    )


# --- output (documentation of provisioning.selectors.course_operations) -----------------------


class StepAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=StepAttempt.Outcome.choices)
    error = serializers.CharField(allow_null=True)
    retryAfter = serializers.FloatField(
        allow_null=True, help_text="Seconds waited before the next attempt."
    )
    startedAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)


class OperationStepSerializer(serializers.Serializer):
    stepName = serializers.ChoiceField(choices=sorted(HANDLERS))
    status = serializers.ChoiceField(choices=ProvisioningStep.Status.choices)
    lastError = serializers.CharField(allow_null=True)
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    attempts = StepAttemptSerializer(many=True)


class RequestedBySerializer(serializers.Serializer):
    apiKey = serializers.CharField(allow_null=True, help_text="The API key's name.")
    user = serializers.CharField(allow_null=True, help_text="The staff member's username.")


class OperationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Operation.Kind.choices)
    status = serializers.ChoiceField(choices=Operation.Status.choices)
    params = serializers.DictField()
    requestedBy = RequestedBySerializer(help_text="Both null: the command line.")
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    steps = OperationStepSerializer(many=True)


def request_caller(request: Request) -> tuple[ApiKey | None, User | None]:
    """Who asks, as an operation records it: the API key, or else the staff member of a
    session."""
    api_key = request_api_key(request)
    user = request.user if api_key is None and isinstance(request.user, User) else None
    return api_key, user


def operation_accepted(
    request: Request,
    course: Course,
    start: Callable[..., Operation],
    *,
    location: str = "course-operations",
) -> Response:
    """Start an operation of the course (``start``: a service taking the course and who asks)
    and answer 202 with it, as ``GET /courses/{id}/operations`` lists it, and ``Location``
    (``location``: the URL name where its outcome shows)."""
    api_key, user = request_caller(request)
    operation = start(course=course, requested_by_key=api_key, requested_by_user=user)
    body = operations_json(ids=[operation.id])[operation.id]
    url = request.build_absolute_uri(reverse(location, args=[course.id]))
    return Response(body, status=202, headers={"Location": url})
