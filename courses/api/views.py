"""The course endpoints: thin, they parse, call a service or selector, and serialize."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_api_key
from api.idempotency import idempotent
from api.schema import IDEMPOTENCY_KEY_PARAMETER, error_responses
from courses.api.caps import active_courses_cap, course_owner
from courses.api.selectors import (
    course_audit_log,
    course_list,
    course_resources,
    courses_visible,
)
from courses.api.serializers import (
    AuditLogSerializer,
    CourseCreateInputSerializer,
    CourseFilterSerializer,
    CourseSerializer,
    CourseStatusSerializer,
    ExternalResourceSerializer,
)
from courses.models import Course
from courses.services import LabGroupInput, course_create
from provisioning.selectors import course_status
from provisioning.services import provisioning_retry

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _location(description: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Location",
        type=str,
        location=OpenApiParameter.HEADER,
        description=description,
        response=[202],
    )


class CourseViewSet(viewsets.GenericViewSet):
    queryset = Course.objects.all()
    serializer_class = CourseSerializer
    lookup_value_regex = UUID_PATTERN
    # What a staff session needs for each action: the model permissions the admin asks for the
    # same thing (see api.permissions). API keys are limited to their own courses instead.
    session_permissions = {
        "list": ("courses.view_course",),
        "retrieve": ("courses.view_course",),
        "provisioning_status": ("courses.view_course",),
        "resources": ("courses.view_course", "provisioning.view_externalresource"),
        "audit": ("courses.view_course", "audit.view_auditlog"),
        "create": ("courses.add_course",),
        "retry": ("courses.change_course",),
    }

    def get_queryset(self) -> QuerySet[Course]:
        # A key sees its own courses only: another key's course is a 404, so ids do not leak.
        courses = courses_visible(api_key=request_api_key(self.request))
        # Only the course's own JSON shows its lab groups: other actions skip that query.
        return courses.prefetch_related("lab_groups") if self.action == "retrieve" else courses

    def get_object(self) -> Course:
        try:
            return super().get_object()
        except Http404:
            raise NotFound(f"No course with id {self.kwargs['pk']}.") from None

    @extend_schema(
        operation_id="courses_list",
        summary="List courses",
        parameters=[CourseFilterSerializer],
        responses={200: CourseSerializer(many=True), **error_responses(400, 404)},
    )
    def list(self, request: Request) -> Response:
        # A plain dict, not the QueryDict: DRF reads an empty form value ("?type=") as absent.
        filters = CourseFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        courses = course_list(filters=filters.validated_data, courses=self.get_queryset())
        page = self.paginate_queryset(courses)
        return self.get_paginated_response(CourseSerializer(page, many=True).data)

    @extend_schema(
        operation_id="courses_retrieve",
        summary="A course",
        responses={200: CourseSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(CourseSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="courses_create",
        summary="Create a course and start its provisioning",
        request=CourseCreateInputSerializer,
        examples=[
            OpenApiExample(
                "Laboratory",
                request_only=True,
                value={
                    "name": "Operating Systems",
                    "semester": "2026-fall",
                    "type": "LABORATORY",
                    "labGroups": [
                        {"name": "Monday 8:00", "number": 1},
                        {"name": "Tuesday 10:00", "number": 2},
                    ],
                },
            ),
            OpenApiExample(
                "Lecture in a given Discord server",
                request_only=True,
                value={
                    "name": "Algorithms",
                    "semester": "2026-fall",
                    "type": "LECTURE",
                    "discordGuildId": "123456789012345678",
                },
            ),
        ],
        parameters=[IDEMPOTENCY_KEY_PARAMETER, _location("The new course's URL.")],
        responses={
            202: OpenApiResponse(CourseSerializer, description="Created; provisioning queued."),
            **error_responses(400, 409, 413, 415, 422),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = CourseCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        api_key = request_api_key(request)
        # A staff session has its cap too (authentication lets in no anonymous user).
        user = request.user if api_key is None and isinstance(request.user, User) else None
        with active_courses_cap(api_key=api_key, user=user):
            course = course_create(
                name=data["name"],
                semester=data["semester"],
                type=data["type"],
                lab_groups=[
                    LabGroupInput(name=group["name"], number=group["number"])
                    for group in data.get("labGroups", [])
                ],
                discord_guild_id=data.get("discordGuildId") or "",
                created_by_key=api_key,
                created_by_user=user,
            )
        url = request.build_absolute_uri(reverse("course-detail", args=[course.id]))
        return Response(CourseSerializer(course).data, status=202, headers={"Location": url})

    @extend_schema(
        operation_id="courses_status",
        summary="Provisioning status: the course's and each step's",
        responses={200: CourseStatusSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["get"], url_path="status", url_name="status")
    def provisioning_status(self, request: Request, pk: str) -> Response:
        return Response(course_status(course=self.get_object()))

    @extend_schema(
        operation_id="courses_retry",
        summary="Retry the failed steps of a course",
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, _location("The course's status URL.")],
        responses={
            202: OpenApiResponse(CourseStatusSerializer, description="Retry queued."),
            **error_responses(400, 404, 409, 413, 415, 422),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def retry(self, request: Request, pk: str) -> Response:
        if request.data not in ({}, None):  # reading it also refuses non-JSON and huge bodies
            raise ValidationError({"body": ["Send no body (or {}) to retry."]})
        course = self.get_object()
        # A retry makes the course active again: it counts against its owner's cap, whoever asks.
        owner_key, owner_user = course_owner(course=course)
        with active_courses_cap(api_key=owner_key, user=owner_user):
            course = provisioning_retry(course=course)
        url = request.build_absolute_uri(reverse("course-status", args=[course.id]))
        return Response(course_status(course=course), status=202, headers={"Location": url})

    @extend_schema(
        operation_id="courses_resources",
        summary="What provisioning made on Discord and GitHub, with URLs",
        responses={200: ExternalResourceSerializer(many=True), **error_responses(404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def resources(self, request: Request, pk: str) -> Response:
        resources = course_resources(course=self.get_object())
        return Response(ExternalResourceSerializer(resources, many=True).data)

    @extend_schema(
        operation_id="courses_audit",
        summary="The course's calls to Discord and GitHub, newest first",
        responses={200: AuditLogSerializer(many=True), **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"])
    def audit(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(course_audit_log(course=self.get_object()))
        return self.get_paginated_response(AuditLogSerializer(page, many=True).data)
