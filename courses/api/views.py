"""The course endpoints: thin, they parse, call a service or selector, and serialize."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
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
from api.exceptions import Conflict
from api.idempotency import idempotent
from api.models import ApiKey
from api.schema import IDEMPOTENCY_KEY_PARAMETER, error_responses
from courses.api.caps import active_courses_cap, course_owner
from courses.api.operations import (
    CourseChangeInputSerializer,
    LabGroupsAddInputSerializer,
    OperationSerializer,
    operation_accepted,
    request_caller,
)
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
from courses.changes import course_add_groups, course_rebind, course_rename
from courses.models import Course
from courses.services import CourseConflictError, LabGroupInput, course_create
from provisioning.archive import course_archive, course_unarchive
from provisioning.repair import course_repair
from provisioning.selectors import course_operations, course_status, operations_json
from provisioning.services import provisioning_retry
from provisioning.teardown import course_teardown
from provisioning.verify import course_verify, drift_report_json, drift_report_latest
from webhooks.services import course_webhook_attach

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
        # What a course made is part of the course (the admin's course page shows it with the
        # course); its calls are the audit log's, which has a permission of its own.
        "resources": ("courses.view_course",),
        "audit": ("courses.view_course", "audit.view_auditlog"),
        "create": ("courses.add_course",),
        "retry": ("courses.change_course",),
        "partial_update": ("courses.change_course",),
        "lab_groups": ("courses.change_course",),
        "operations": ("courses.view_course",),
        "verify": ("courses.change_course",),
        "archive": ("courses.change_course",),
        "unarchive": ("courses.change_course",),
        "repair": ("courses.change_course",),
        "drift": ("courses.view_course",),
        "destroy": ("courses.delete_course",),
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
        webhook_url = data.get("webhookUrl")
        with (
            conflicts_seen_by(api_key),  # outermost: it reads once the transaction is over
            active_courses_cap(api_key=api_key, user=user),
            # A webhook joins the course's transaction; without one, course_create's own is the
            # course's (no savepoint: two round trips less on every create).
            transaction.atomic() if webhook_url else nullcontext(),
        ):
            course = course_create(
                name=data["name"],
                semester=data["semester"],
                type=data["type"],
                lab_groups=[
                    LabGroupInput(name=group["name"], number=group["number"])
                    for group in data.get("labGroups", [])
                ],
                discord_guild_id=data.get("discordGuildId") or "",
                github_org=data.get("githubOrg") or "",
                priority=data.get("priority") or Course.Priority.NORMAL,
                created_by_key=api_key,
                created_by_user=user,
            )
            # In the course's transaction: its run starts on commit and may end at once.
            hook = course_webhook_attach(course=course, url=webhook_url)
        url = request.build_absolute_uri(reverse("course-detail", args=[course.id]))
        body = CourseSerializer(course).data
        if hook is not None:
            body["webhookSecret"] = hook.secret  # shown once, like a webhook's own secret
        return Response(body, status=202, headers={"Location": url})

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
        operation_id="courses_change",
        summary="Rename a course, or rebind its Discord server",
        description="One change per request. `name`: a COMPLETED course is renamed and a RENAME "
        "operation renames its Discord server (repositories keep their names). "
        "`discordGuildId`: a FAILED course in which nothing exists in Discord yet is bound to "
        "this server (empty: the next pool server) and retried. 409 while another operation "
        "of the course is pending or running, or when the course is not in the state the "
        "change needs.",
        request=CourseChangeInputSerializer,
        parameters=[_location("The course's operations URL.")],
        responses={
            202: OpenApiResponse(CourseSerializer, description="Changed; its operation queued."),
            200: OpenApiResponse(CourseSerializer, description="Nothing to change."),
            **error_responses(400, 404, 409, 413, 415),
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        serializer = CourseChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        course = self.get_object()
        api_key, user = request_caller(request)
        started = True
        with conflicts_seen_by(api_key):
            if "discordGuildId" in data:
                owner_key, owner_user = course_owner(course=course)
                with active_courses_cap(api_key=owner_key, user=owner_user):
                    course_rebind(course=course, discord_guild_id=data["discordGuildId"])
            else:
                started = (
                    course_rename(
                        course=course,
                        name=data["name"],
                        requested_by_key=api_key,
                        requested_by_user=user,
                    )
                    is not None
                )
        course.refresh_from_db()
        url = request.build_absolute_uri(reverse("course-operations", args=[course.id]))
        return Response(
            CourseSerializer(course).data,
            status=202 if started else 200,
            headers={"Location": url} if started else {},
        )

    @extend_schema(
        operation_id="courses_lab_groups_add",
        summary="Add lab groups to a laboratory",
        description="Only the new groups' roles, channels and repositories are made, by an "
        "ADD_GROUPS operation. The course must be a COMPLETED laboratory; 409 while another "
        "operation of the course is pending or running.",
        request=LabGroupsAddInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, _location("The course's operations URL.")],
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(400, 404, 409, 413, 415, 422),
        },
    )
    @action(detail=True, methods=["post"], url_path="lab-groups", url_name="lab-groups")
    @idempotent
    def lab_groups(self, request: Request, pk: str) -> Response:
        serializer = LabGroupsAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        course = self.get_object()
        api_key, user = request_caller(request)
        with conflicts_seen_by(api_key):
            operation = course_add_groups(
                course=course,
                groups=[
                    LabGroupInput(name=group["name"], number=group["number"])
                    for group in serializer.validated_data["labGroups"]
                ],
                requested_by_key=api_key,
                requested_by_user=user,
            )
        body = operations_json(ids=[operation.id])[operation.id]
        url = request.build_absolute_uri(reverse("course-operations", args=[course.id]))
        return Response(body, status=202, headers={"Location": url})

    @extend_schema(
        operation_id="courses_operations",
        summary="The course's operations, oldest first, with their steps and every attempt",
        responses={200: OperationSerializer(many=True), **error_responses(404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def operations(self, request: Request, pk: str) -> Response:
        return Response(course_operations(course=self.get_object()))

    @extend_schema(
        operation_id="courses_verify",
        summary="Compare the course's resources with the platforms (a VERIFY operation)",
        description="Reads only; the report is at /courses/{id}/drift once it completes. "
        "409 while another operation of the course is pending or running.",
        request=None,
        parameters=[_location("The course's drift report URL.")],
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(404, 409),
        },
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        return operation_accepted(
            request, self.get_object(), course_verify, location="course-drift"
        )

    @extend_schema(
        operation_id="courses_archive",
        summary="Archive the course (semester end): read-only on Discord and GitHub",
        description="An ARCHIVE operation: its repositories archived, every channel read-only "
        "for members (posting, threads and reactions denied to @everyone and the group roles; "
        "staff and the bot keep them), the server renamed `[archived] …`. While archived, only "
        "verify, unarchive and tear down are taken. 409 when already archived, not "
        "COMPLETED, or while another operation of the course runs.",
        request=None,
        parameters=[_location("The course's operations URL.")],
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(404, 409),
        },
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        return operation_accepted(request, self.get_object(), course_archive)

    @extend_schema(
        operation_id="courses_unarchive",
        summary="Unarchive the course: put back exactly what its archive changed",
        description="An UNARCHIVE operation: the repositories unarchived, each channel's "
        "overwrites and the server's name as they were before the archive. Also undoes an "
        "archive that FAILED part way (instead of retrying it). 409 when the course is not "
        "archived, or while another operation of the course runs.",
        request=None,
        parameters=[_location("The course's operations URL.")],
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(404, 409),
        },
    )
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str) -> Response:
        return operation_accepted(request, self.get_object(), course_unarchive)

    @extend_schema(
        operation_id="courses_repair",
        summary="Put back what the latest verify found missing or changed (a REPAIR operation)",
        description="Missing resources are made again through the provisioning steps (a channel "
        "with its overwrites, a repository with its seed and protection), changed ones fixed in "
        "place; the repair ends with a fresh drift report at /courses/{id}/drift. 409 when the "
        "course has no drift report or its latest is clean (verify first), and while another "
        "operation of the course is pending or running.",
        request=None,
        parameters=[_location("The course's drift report URL.")],
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(404, 409),
        },
    )
    @action(detail=True, methods=["post"])
    def repair(self, request: Request, pk: str) -> Response:
        return operation_accepted(
            request, self.get_object(), course_repair, location="course-drift"
        )

    @extend_schema(
        operation_id="courses_teardown",
        summary="Tear the course down: remove what it made, keep it as a deleted record",
        description="A TEARDOWN operation deletes what the course recorded as made, in reverse "
        "order: its channels, roles, teams and repositories (archived instead with "
        "TEARDOWN_REPOSITORIES=archive); a pool server is renamed back and returned to the "
        "pool. Nothing the course did not make is touched (a channel it adopted stays). Then "
        "the course is kept as a deleted record (deletedAt): hidden from GET /courses unless "
        "?deleted=true, its name and semester free again. For a COMPLETED or FAILED course; "
        "409 while another operation of the course is pending or running, or once torn down.",
        request=None,
        parameters=[_location("The course's operations URL.")],
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(404, 409),
        },
    )
    def destroy(self, request: Request, pk: str) -> Response:
        return operation_accepted(request, self.get_object(), course_teardown)

    @extend_schema(
        operation_id="courses_drift",
        summary="The course's latest drift report: each resource ok, missing or changed",
        responses={200: OpenApiResponse(description="The report."), **error_responses(404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def drift(self, request: Request, pk: str) -> Response:
        course = self.get_object()
        report = drift_report_latest(course=course)
        if report is None:
            raise NotFound(f"Course {course.id} has not been verified yet.")
        return Response(drift_report_json(report=report))

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


@contextmanager
def conflicts_seen_by(api_key: ApiKey | None) -> Iterator[None]:
    """A conflict with a course the caller may not see names neither its id nor its name: a key
    would otherwise learn of another key's courses (the 404 rule of ``courses_visible``)."""
    try:
        yield
    except CourseConflictError as exc:
        if courses_visible(api_key=api_key).filter(id=exc.existing_id).exists():
            raise
        raise Conflict(exc.anonymous_message) from exc
